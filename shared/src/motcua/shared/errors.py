"""One error shape for every HTTP API, with Vietnamese messages.

``{"error": {"code", "message", "details": [{"field", "message"}]}}``:
``code`` is stable for systems, ``message`` is for the officer or citizen.
The shape and the per-field translations are in
:mod:`motcua.shared.error_shape` (pure: importers need no FastAPI); this
module answers with them.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from motcua.shared.error_shape import (
    ErrorBody,
    ErrorDetail,
    ErrorResponse,
    translate_validation_errors,
)

__all__ = [
    "ApiError",
    "ErrorBody",
    "ErrorDetail",
    "ErrorResponse",
    "error_response",
    "install_error_handlers",
    "translate_validation_errors",
]


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
