"""Structured JSON logs with trace and correlation ids, and personal data masked.

Every log line goes through :func:`mask_personal_data`: values under personal
keys (phone, email, ID number, address, names) are masked whatever their shape,
and ID numbers, phone numbers and emails are masked inside any other text,
tracebacks included. Foreign loggers (uvicorn, aiokafka, FastStream) are routed
through the same processors.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from opentelemetry import trace
from pydantic import ValidationError
from structlog.typing import EventDict, WrappedLogger

_PERSONAL_KEYS = (
    "phone",
    "email",
    "id_number",
    "address",
    "full_name",
    "receiver_name",
    "so_dien_thoai",
    "dia_chi",
    "cccd",
    "password",
    "secret",
    "token",
)
# Every pattern runs in linear time on any input (they scan untrusted text: a
# dead letter's body, an error message): a match can only start where a run
# of its characters starts (the look-behinds), so each character is tried from
# at most one start, and the quantifiers after it are separated by characters
# they cannot match. An email pattern without the look-behind retried from
# every position of a long word: quadratic, minutes for a 200 KB record.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ID_NUMBER = re.compile(r"(?<![\d.])\d{12}(?![\d.])")
_PHONE = re.compile(r"(?<![\w.])(?:\+?84|0)(?:[\s.-]?\d){8,10}(?![\d.])")

MAX_SCANNED_CHARS = 16_384
"""Longest text masked and kept whole; the rest is cut (a log line or a console
view has no use for more, and every scan stays bounded)."""


_TOKEN_CHARS = frozenset("._+-@")


def truncate_text(text: str, limit: int = MAX_SCANNED_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out.

    A word cut in two is dropped whole: half an ID number or phone would no
    longer look like one to the masking patterns.
    """
    if len(text) <= limit:
        return text
    end = limit
    floor = max(limit - 64, 0)
    while end > floor and (text[end - 1].isalnum() or text[end - 1] in _TOKEN_CHARS):
        end -= 1
    return f"{text[:end]}…[{len(text) - end} characters cut]"


def _mask_text(text: str, limit: int = MAX_SCANNED_CHARS) -> str:
    text = truncate_text(text, limit)
    text = _EMAIL.sub("***@***", text)
    text = _ID_NUMBER.sub(lambda m: "*" * 9 + m.group(0)[-3:], text)
    return _PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group(0))[-3:], text)


def _is_personal_key(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in _PERSONAL_KEYS)


def mask_value(
    value: Any, *, personal: bool = False, max_chars: int = MAX_SCANNED_CHARS
) -> Any:
    """Mask personal data in any JSON-like value (texts longer than
    ``max_chars`` are cut first, see :func:`truncate_text`)."""
    if isinstance(value, Mapping):
        return {
            k: mask_value(
                v, personal=personal or _is_personal_key(str(k)), max_chars=max_chars
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set):
        return [mask_value(v, personal=personal, max_chars=max_chars) for v in value]
    if personal and value not in (None, "", True, False):
        return "***"
    if isinstance(value, str):
        return _mask_text(value, max_chars)
    return value


def mask_personal_data(
    _logger: WrappedLogger, _name: str, event_dict: EventDict
) -> EventDict:
    """structlog processor: the last line of defence for personal data."""
    return {
        key: mask_value(value, personal=_is_personal_key(key) and key != "event")
        for key, value in event_dict.items()
    }


def add_trace_ids(
    _logger: WrappedLogger, _name: str, event_dict: EventDict
) -> EventDict:
    span = trace.get_current_span()
    ctx = span.get_span_context()
    if ctx.is_valid:
        event_dict.setdefault("trace_id", format(ctx.trace_id, "032x"))
        event_dict.setdefault("span_id", format(ctx.span_id, "016x"))
    return event_dict


def safe_error_text(error: BaseException) -> str:
    """An error's type and message, fit for logs and dead-letter headers:
    validation errors without the offending input, everything else masked."""
    if isinstance(error, ValidationError):
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in error.errors(include_input=False, include_url=False)
        )
        return f"{type(error).__name__}: {details}"
    cause = error.__cause__
    if isinstance(cause, ValidationError):
        return f"{type(error).__name__}: {safe_error_text(cause)}"
    return _mask_text(f"{type(error).__name__}: {error}")


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Configure structlog and the standard library for one service process."""

    def add_service(_l: WrappedLogger, _n: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service,
        add_trace_ids,
        structlog.processors.format_exc_info,
        mask_personal_data,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Per-message library chatter costs throughput and says nothing new.
    for noisy in ("aiokafka", "faststream", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
