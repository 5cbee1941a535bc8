"""One error shape for every HTTP API, with Vietnamese messages.

``{"error": {"code", "message", "details": [{"field", "message"}]}}``:
``code`` is stable for systems, ``message`` is for the officer or citizen.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: list[ErrorDetail] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details or []


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


def error_response(
    status_code: int, code: str, message: str, details: list[ErrorDetail] | None = None
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(code=code, message=message, details=details or [])
    )
    return JSONResponse(status_code=status_code, content=body.model_dump(mode="json"))


_STATUS_VI = {
    400: ("bad_request", "Yêu cầu không hợp lệ."),
    401: ("unauthorized", "Cần đăng nhập."),
    403: ("forbidden", "Không có quyền thực hiện thao tác này."),
    404: ("not_found", "Không tìm thấy."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ."),
    409: ("conflict", "Xung đột dữ liệu."),
    429: ("too_many_requests", "Quá nhiều yêu cầu, vui lòng thử lại sau."),
}


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        response = error_response(exc.status_code, exc.code, exc.message, exc.details)
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(
            422,
            "validation_failed",
            "Thông tin chưa hợp lệ, vui lòng kiểm tra các trường được nêu.",
            translate_validation_errors(list(exc.errors())),
        )

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code, message = _STATUS_VI.get(exc.status_code, ("error", "Có lỗi xảy ra."))
        if (
            isinstance(exc.detail, str)
            and exc.detail
            and exc.status_code not in _STATUS_VI
        ):
            message = exc.detail
        response = error_response(exc.status_code, code, message)
        # e.g. ``Allow`` on a 405, which HTTP requires (RFC 9110 §15.5.6)
        response.headers.update(exc.headers or {})
        return response

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
