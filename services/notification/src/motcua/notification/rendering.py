"""Vietnamese Jinja2 templates per event and channel.

``templates/<event type>/`` holds ``sms.txt.j2`` (and optionally a shorter
``sms_short.txt.j2`` used when the first one needs too many parts),
``email_subject.txt.j2``, ``email.txt.j2`` and optionally ``attachment.html.j2``
(the receipt or result notice attached to the email). A postal letter carries
the email text; the result-return order (``postal.result_return``) carries
``order.txt.j2`` as its description.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2

from motcua.notification.domain.rules import RESULT_RETURN_TEMPLATE
from motcua.notification.domain.sms import SmsText, SmsTooLongError, prepare_sms
from motcua.shared.contracts import VN_TZ
from motcua.shared.contracts.common import NotificationChannel


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: str


@dataclass(frozen=True)
class RenderedMessage:
    channel: NotificationChannel
    text: str
    subject: str | None = None
    sms: SmsText | None = None
    attachment: Attachment | None = None


def _as_datetime(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(VN_TZ)


def vn_date(value: datetime | str | None) -> str:
    return _as_datetime(value).strftime("%d/%m/%Y") if value else ""


def vn_datetime(value: datetime | str | None) -> str:
    return _as_datetime(value).strftime("%H:%M ngày %d/%m/%Y") if value else ""


def vnd(amount: int | None) -> str:
    """12500 -> "12.500 đồng" (Vietnamese thousands separator)."""
    return f"{amount or 0:,} đồng".replace(",", ".")


_ATTACHMENT_NAMES = {
    "dossier.received": "giay-tiep-nhan-{code}.html",
    "dossier.result_recorded": "thong-bao-co-ket-qua-{code}.html",
}


class TemplateRenderer:
    def __init__(self, *, sms_unaccented: bool, sms_max_segments: int) -> None:
        self.sms_unaccented = sms_unaccented
        self.sms_max_segments = sms_max_segments
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("motcua.notification", "templates"),
            autoescape=jinja2.select_autoescape(["html.j2"]),
            undefined=jinja2.StrictUndefined,
            auto_reload=False,  # templates ship with the package
        )
        self.env.filters.update(vn_date=vn_date, vn_datetime=vn_datetime, vnd=vnd)
        self._compiled: dict[str, jinja2.Template | None] = {}

    def _template(self, template: str, name: str) -> jinja2.Template | None:
        """The compiled template, or None if the event has no such file
        (remembered too: a miss would ask the loader again every time)."""
        path = f"{template}/{name}"
        try:
            return self._compiled[path]
        except KeyError:
            pass
        try:
            found: jinja2.Template | None = self.env.get_template(path)
        except jinja2.TemplateNotFound:
            found = None
        self._compiled[path] = found
        return found

    def _text(self, template: str, name: str, context: dict[str, Any]) -> str:
        compiled = self._template(template, name)
        if compiled is None:
            raise jinja2.TemplateNotFound(f"{template}/{name}")
        return compiled.render(**context).strip()

    def _exists(self, template: str, name: str) -> bool:
        return self._template(template, name) is not None

    def attachment(self, template: str, context: dict[str, Any]) -> Attachment | None:
        """The email's attachment (receipt or result notice), if the event has one."""
        if not self._exists(template, "attachment.html.j2"):
            return None
        return Attachment(
            filename=_ATTACHMENT_NAMES.get(template, "thong-bao-{code}.html").format(
                code=context.get("dossier_code", "")
            ),
            content_type="text/html",
            content=self._text(template, "attachment.html.j2", context),
        )

    def render(
        self,
        template: str,
        channel: NotificationChannel,
        context: dict[str, Any],
        *,
        with_attachment: bool = True,
    ) -> RenderedMessage:
        """Render one notice. Raises :class:`SmsTooLongError` when even the short
        SMS variant is too long: the text is never cut. ``with_attachment=False``:
        not the email's attachment (a notice keeps its text and subject; the
        worker renders the attachment when it sends)."""
        if channel == NotificationChannel.SMS:
            return self._sms(template, context)
        if template == RESULT_RETURN_TEMPLATE:
            return RenderedMessage(
                channel, self._text(template, "order.txt.j2", context)
            )
        subject = self._text(template, "email_subject.txt.j2", context)
        text = self._text(template, "email.txt.j2", context)
        attachment = (
            self.attachment(template, context)
            if channel == NotificationChannel.EMAIL and with_attachment
            else None
        )
        return RenderedMessage(channel, text, subject=subject, attachment=attachment)

    def _sms(self, template: str, context: dict[str, Any]) -> RenderedMessage:
        names = ["sms.txt.j2"]
        if self._exists(template, "sms_short.txt.j2"):
            names.append("sms_short.txt.j2")
        error: SmsTooLongError | None = None
        for name in names:
            try:
                sms = prepare_sms(
                    self._text(template, name, context),
                    unaccented=self.sms_unaccented,
                    max_segments=self.sms_max_segments,
                )
            except SmsTooLongError as exc:
                error = exc
                continue
            return RenderedMessage(NotificationChannel.SMS, sms.text, sms=sms)
        assert error is not None
        raise error
