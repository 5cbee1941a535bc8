"""The error shape of every HTTP API and the Vietnamese messages of field
errors (pure: pydantic only, so pure modules may use them).

``{"error": {"code", "message", "details": [{"field", "message"}]}}``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


_MESSAGES_VI: dict[str, str] = {
    "missing": "Thông tin bắt buộc, chưa được nhập.",
    "string_too_short": "Quá ngắn.",
    "string_too_long": "Quá dài.",
    "string_type": "Phải là chuỗi ký tự.",
    "string_pattern_mismatch": "Không đúng định dạng.",
    "int_parsing": "Phải là số nguyên.",
    "int_type": "Phải là số nguyên.",
    "float_parsing": "Phải là số.",
    "bool_parsing": "Phải là đúng/sai (true/false).",
    "greater_than": "Giá trị quá nhỏ.",
    "greater_than_equal": "Giá trị quá nhỏ.",
    "less_than": "Giá trị quá lớn.",
    "less_than_equal": "Giá trị quá lớn.",
    "enum": "Giá trị không thuộc danh sách cho phép.",
    "literal_error": "Giá trị không thuộc danh sách cho phép.",
    "datetime_parsing": "Thời gian không đúng định dạng ISO 8601.",
    "datetime_from_date_parsing": "Thời gian không đúng định dạng ISO 8601.",
    "timezone_aware": "Thời gian phải có múi giờ (ví dụ +07:00).",
    "date_parsing": "Ngày không đúng định dạng (YYYY-MM-DD).",
    "uuid_parsing": "Mã không đúng định dạng UUID.",
    "list_type": "Phải là một danh sách.",
    "dict_type": "Phải là một đối tượng.",
    "model_type": "Phải là một đối tượng.",
    "json_invalid": "Nội dung gửi lên không phải JSON hợp lệ.",
    "extra_forbidden": "Trường này không được phép.",
    "too_short": "Danh sách quá ngắn.",
    "too_long": "Danh sách quá dài.",
    "value_error": "Giá trị không hợp lệ.",
    "email": "Địa chỉ thư điện tử không hợp lệ.",
}


def translate_validation_errors(errors: list[Any]) -> list[ErrorDetail]:
    """Pydantic error list → per-field Vietnamese messages (never echoing input)."""
    details: list[ErrorDetail] = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        kind = str(err.get("type", "value_error"))
        if kind == "value_error":
            # Our validators raise ValueError with a Vietnamese message.
            ctx_error = (err.get("ctx") or {}).get("error")
            message = str(ctx_error) if ctx_error else _MESSAGES_VI["value_error"]
        else:
            message = _MESSAGES_VI.get(kind, "Giá trị không hợp lệ.")
        details.append(ErrorDetail(field=".".join(loc) or "body", message=message))
    return details
