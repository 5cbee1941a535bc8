"""The inbound poller: filings made on the portal become dossiers in intake.

Every ``poll_interval_s`` it reads the portal's queue of online filings and
hands each to intake (``POST /api/v1/portal/filings``). A filing stays on the
portal's queue until the province reports it received or refused, so nothing
is lost between the two systems: a filing intake took leaves the queue when
the sender's ``DongBoHoSoMC`` (status 2, from intake's ``dossier.received``)
is acknowledged; a filing intake refuses (422) is answered with a status-3
record carrying intake's Vietnamese reason; anything else (intake or the
portal unreachable, a 5xx) is simply asked again at the next poll, and
intake answers a filing it has already taken with the same dossier.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from motcua.portal.client import PortalClient, PortalUnavailableError
from motcua.portal.inbound import FilingUnreadableError, filing_body, refusal_record
from motcua.portal.mapping import ItemKind
from motcua.portal.outbound import ACKED, OK
from motcua.portal.settings import PortalSettings
from motcua.portal.tables import PortalDossier, PortalItem
from motcua.shared.auth import ALL_AGENCIES, Role, issue_token
from motcua.shared.db import utcnow
from motcua.shared.leadership import Leadership, SingleProcessLeadership

log = structlog.get_logger(__name__)

LIST_SERVICE = "LayDanhSachHoSoNopTrucTuyen"
FILINGS_PATH = "/api/v1/portal/filings"
TOKEN_TTL = timedelta(hours=1)


class PollerMetrics:
    def __init__(self, registry: Any) -> None:
        self.filings = Counter(
            "motcua_portal_filings_total",
            "Filings read from the portal, by what became of them (`taken`: a "
            "dossier in intake, `refused`: answered with status 3, `retry`: "
            "asked again at the next poll, `waiting`: answered already)",
            ["outcome"],
            registry=registry,
        )


class Poller:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: PortalClient,
        settings: PortalSettings,
        *,
        metrics: PollerMetrics,
        on_items: Any,
        intake: httpx.AsyncClient | None = None,
        leadership: Leadership | None = None,
    ) -> None:
        self.sessions = sessions
        self.leadership = leadership or SingleProcessLeadership()
        """With several instances only the leader reads the portal's queue
        (each would hand intake the same filings at the same moment)."""
        self.client = client
        self.settings = settings
        self.metrics = metrics
        self.on_items = on_items
        self.intake = intake or httpx.AsyncClient(
            base_url=settings.intake_url, timeout=settings.call_timeout_s
        )
        self._token: tuple[str, float] | None = None

    async def aclose(self) -> None:
        await self.leadership.release()
        await self.intake.aclose()

    async def run(self) -> None:
        while True:
            try:
                if await self.leadership.acquire():
                    await self.poll()
            except asyncio.CancelledError:
                raise
            except PortalUnavailableError as exc:
                log.info("portal_poll_failed", reason=str(exc))
            except Exception:
                log.exception("portal_poll_failed")
            await asyncio.sleep(self.settings.poll_interval_s)

    async def poll(self) -> int:
        """Read the portal's queue once and hand each filing on; the number of
        filings read."""
        answer = await self.client.call(
            LIST_SERVICE, {"limit": self.settings.poll_limit}
        )
        if answer.error_code != OK:
            log.info("portal_poll_refused", error_code=answer.error_code)
            return 0
        filings = answer.body.get("result") or []
        if not isinstance(filings, list):
            return 0
        for filing in filings:
            if isinstance(filing, dict):
                outcome = await self.take(filing)
                self.metrics.filings.labels(outcome).inc()
        return len(filings)

    async def take(self, filing: dict[str, Any]) -> str:
        code = filing.get("MaHoSo") if isinstance(filing.get("MaHoSo"), str) else ""
        if code and await self._answered(code):
            return "waiting"  # the portal lists it until our answer lands
        try:
            body = filing_body(filing)
        except FilingUnreadableError as exc:
            if not code:
                log.warning("portal_filing_without_code")
                return "retry"
            await self._refuse(filing, "filing_invalid", str(exc))
            return "refused"
        try:
            response = await self.intake.post(
                FILINGS_PATH,
                json=body,
                headers={"Authorization": f"Bearer {self._intake_token()}"},
            )
        except httpx.HTTPError as exc:
            log.info("intake_unreachable", dossier_code=code, error=type(exc).__name__)
            return "retry"
        if response.status_code in (200, 201):
            log.info(
                "portal_filing_taken", dossier_code=code, status=response.status_code
            )
            return "taken"
        if response.status_code in (409, 422):
            error = _error_of(response)
            await self._refuse(filing, error[0], error[1])
            return "refused"
        log.warning(
            "portal_filing_not_taken", dossier_code=code, status=response.status_code
        )
        return "retry"

    async def _answered(self, code: str) -> bool:
        """The portal service holds this dossier already (intake took it, or
        its refusal waits to be sent)."""
        async with self.sessions() as session:
            known = await session.get(PortalDossier, code)
            if known is not None:
                return True
            open_item = (
                await session.execute(
                    select(col(PortalItem.id))
                    .where(
                        col(PortalItem.dossier_code) == code,
                        col(PortalItem.state) != ACKED,
                    )
                    .limit(1)
                )
            ).first()
            return open_item is not None

    async def _refuse(
        self, filing: dict[str, Any], error_code: str, message: str
    ) -> None:
        """Queue the answer that takes the filing off the portal's queue."""
        now = utcnow()
        record = refusal_record(filing, message, now)
        code = record["MaHoSo"]
        async with self.sessions() as session, session.begin():
            session.add(
                PortalDossier(
                    dossier_code=code,
                    record=record,
                    status=int(record["TrangThaiHoSo"]),
                    updated_at=now,
                )
            )
            session.add(
                PortalItem(
                    dossier_code=code,
                    kind=ItemKind.DOSSIER.value,
                    payload=record,
                    origin="filing",
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        log.info("portal_filing_refused", dossier_code=code, reason=error_code)
        self.on_items()

    def _intake_token(self) -> str:
        configured = self.settings.intake_token
        if configured is not None:
            return configured.get_secret_value()
        if self._token is None or time.monotonic() > self._token[1]:
            token = issue_token(
                self.settings.common,
                subject="portal-service",
                agency_code=ALL_AGENCIES,
                roles=[Role.PORTAL],
                name="Cổng Dịch vụ công quốc gia",
                ttl=TOKEN_TTL,
            )
            self._token = (token, time.monotonic() + TOKEN_TTL.total_seconds() / 2)
        return self._token[0]


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """Intake's machine code and Vietnamese message (the project's error shape)."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code = str(error.get("code") or f"http_{response.status_code}")
    message = str(error.get("message") or "Hồ sơ không được tiếp nhận.")
    details = [
        str(d["message"])
        for d in error.get("details") or []
        if isinstance(d, dict) and d.get("message")
    ]
    return code, " ".join([message, *details])[:2000]
