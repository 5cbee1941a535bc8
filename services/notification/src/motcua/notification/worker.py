"""The delivery worker: claims due notices, calls providers, records outcomes.

For each notice: one transaction marks it ``sending`` (with a claim token, a
lease and the provider's idempotency key; no event: ADR 0017); then the provider is called outside any transaction; then a second transaction
records the answer, only if the claim is still ours. A process killed between
the two leaves the notice ``sending`` with an expired lease: it is claimed
again and sent with the *same* provider idempotency key, so an SMS gateway or
postal operator that already took it does not send it twice (SMTP cannot tell;
see :mod:`motcua.notification.providers.smtp`).

Each provider has a rate limit (aiolimiter) and a circuit breaker: while a
provider is down its notices are not claimed at all, so they wait without
burning attempts.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

import sqlalchemy as sa
import structlog
from aiolimiter import AsyncLimiter
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from motcua.notification.domain.circuit import CircuitBreaker, CircuitState
from motcua.notification.domain.delivery import NoticeState, Outcome
from motcua.notification.notices import (
    DeliveryPolicy,
    fail_permanently,
    fail_temporarily,
    format_postal_address,
    mark_accepted,
    mark_delivered,
)
from motcua.notification.postal import (
    development_waybill_codes,
    free_waybills,
    load_waybills,
    order_cancelled,
    order_kind,
    order_placed,
    register_order,
    take_waybill,
)
from motcua.notification.providers.base import (
    OutgoingMessage,
    PostalParty,
    Providers,
    SendResult,
)
from motcua.notification.providers.postal import PostalProvider
from motcua.notification.receipts import ReceiptBatcher
from motcua.notification.settings import NotificationSettings
from motcua.notification.tables import (
    NOTICE,
    DossierContact,
    Notice,
    PostalOrder,
    Recipient,
)
from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.db import commit_watch, utcnow
from motcua.shared.rounds import run_rounds
from motcua.shared.service import ServiceRuntime

log = structlog.get_logger(__name__)

CLAIMABLE = (NoticeState.CREATED.value, NoticeState.TEMPORARY_FAILURE.value)


@dataclass(frozen=True)
class Claim:
    notice_id: uuid.UUID
    token: uuid.UUID
    channel: NotificationChannel
    message: OutgoingMessage


class WorkerMetrics:
    def __init__(self, runtime: ServiceRuntime) -> None:
        registry = runtime.metrics.registry
        self.sends = Counter(
            "motcua_notification_sends_total",
            "Provider calls by channel and outcome",
            ["channel", "outcome"],
            registry=registry,
        )
        self.send_seconds = Histogram(
            "motcua_notification_send_seconds",
            "Duration of one provider call",
            ["channel"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.circuit_open = Gauge(
            "motcua_notification_circuit_open",
            "1 while a provider's circuit is open or half-open",
            ["channel"],
            registry=registry,
        )
        self.waybills_free = Gauge(
            "motcua_notification_waybills_free",
            "Waybill codes left in the pool for postal orders (sampled every "
            "metrics_sample_interval_s)",
            registry=registry,
        )


class DeliveryWorker:
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: NotificationSettings,
        policy: DeliveryPolicy,
        providers: Providers,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.policy = policy
        self.providers = providers
        self.breakers = {
            channel: CircuitBreaker(
                failure_threshold=settings.circuit_failure_threshold,
                reset_after_s=settings.circuit_reset_s,
            )
            for channel in NotificationChannel
        }
        rates = {
            NotificationChannel.SMS: settings.sms_rate_per_s,
            NotificationChannel.EMAIL: settings.email_rate_per_s,
            NotificationChannel.POST: settings.postal_rate_per_s,
        }
        self.limiters = {c: AsyncLimiter(rate, 1) for c, rate in rates.items()}
        self.metrics = WorkerMetrics(runtime)
        runtime.add_sampler("waybill_pool", self.sample_waybill_pool)
        for channel in NotificationChannel:  # series exist before the first round
            self.metrics.circuit_open.labels(channel.value).set(0)
        self._wake = asyncio.Event()
        self.receipts = ReceiptBatcher(
            runtime,
            policy,
            self.wake,
            window_s=settings.receipt_batch_window_s,
            max_group=settings.receipt_batch_max,
        )
        self._slots = asyncio.Semaphore(settings.worker_concurrency)
        self._in_flight = 0
        """Notices claimed whose answers are not recorded yet."""
        self._sending: set[asyncio.Task[None]] = set()
        self._starved = False
        """A round claimed all the room there was (or found none)."""
        self._cancellations_checked = 0.0
        self._commits = commit_watch(runtime.engine)
        """SQLite: whether anything was committed since the last look. Idle,
        a round then costs a pragma instead of a claim transaction (and the
        relay round that transaction woke). None elsewhere: every round looks."""
        self._claims_owed = True
        self._cancellations_owed = True
        self._look_by: float | None = None
        """(monotonic) When a look is due even without a commit: the soonest
        retry or expiring lease after the last empty look (None: not asked)."""

    def wake(self) -> None:
        self._claims_owed = True
        self._wake.set()

    async def sample_waybill_pool(self) -> None:
        async with self.runtime.sessions() as session:
            self.metrics.waybills_free.set(await free_waybills(session))

    def circuit_states(self) -> dict[str, str]:
        return {c.value: b.state.value for c, b in self.breakers.items()}

    # -- loop -----------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._autofill_waybills()
            await run_rounds(
                self.round,
                self._wake,
                self.settings.worker_poll_interval_s,
                failed_event="delivery_round_failed",
            )
        finally:
            # Stopping: a send cut short leaves its notice `sending`, claimed
            # again after its lease with the same idempotency key (as before).
            for task in self._sending:
                task.cancel()
            await asyncio.gather(*self._sending, return_exceptions=True)
            if self._commits is not None:
                self._commits.close()

    async def round(self) -> bool:
        """Claim what is due on every channel whose circuit allows it, up to
        the room the sends still in flight leave (``worker_batch_size`` in
        all), and start sending it; True if a full batch was claimed (more may
        be due) or anything else was done.

        The sends and the record of their answers run beside the next rounds:
        a notice written while a round's slowest call (an SMTP transaction)
        is under way is claimed at once instead of after that round
        (``worker_concurrency`` still bounds the calls in flight)."""
        if self._commits is None or self._commits.changed():
            self._claims_owed = self._cancellations_owed = True
        cancelled = await self._maybe_process_cancellations()
        if not await self._worth_a_claim():
            return cancelled
        self._claims_owed = self._commits is None
        room = self.settings.worker_batch_size - self._in_flight
        capacities: dict[NotificationChannel, int] = {}
        for channel, breaker in self.breakers.items():
            self.metrics.circuit_open.labels(channel.value).set(
                0 if breaker.state == CircuitState.CLOSED else 1
            )
            capacity = breaker.capacity(room) if room > 0 else 0
            if capacity:
                capacities[channel] = capacity
        claims = await self._claim(capacities, room) if capacities else []
        if len(claims) >= room:
            self._starved = True  # more may be due: look again when room is made
        for channel in capacities:
            breaker = self.breakers[channel]
            if breaker.state == CircuitState.HALF_OPEN and not any(
                c.channel == channel for c in claims
            ):
                breaker.release_trial()
        if claims:
            self._claims_owed = True  # a full batch may have left more
            self._in_flight += len(claims)
            task = asyncio.create_task(self._send(claims))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return len(claims) >= room > 0 or cancelled

    async def _send(self, claims: list[Claim]) -> None:
        """Call the providers for a round's claims, record the answers in one
        transaction, then make room; wakes the worker when a round found no
        room or an answer may have made work (a retry, the next channel)."""
        results: list[SendResult] = []
        try:
            results = await asyncio.gather(*(self._deliver(c) for c in claims))
            await self._record(list(zip(claims, results, strict=True)))
        except asyncio.CancelledError:
            raise
        except Exception:  # the claims' leases bring them back
            log.exception("delivery_round_failed")
        finally:
            self._in_flight -= len(claims)
        if self._starved or any(
            r.outcome not in (Outcome.ACCEPTED, Outcome.DELIVERED) for r in results
        ):
            self._starved = False
            self.wake()

    async def _worth_a_claim(self) -> bool:
        """Whether a claim could find anything: something was committed (or
        the worker was woken) since the last look, a circuit is not closed
        (its trial comes with time), or a retry or a lease is due by now."""
        if self._claims_owed or any(
            b.state != CircuitState.CLOSED for b in self.breakers.values()
        ):
            return True
        if self._look_by is None:  # the first quiet round after a look
            self._look_by = await self._next_look()
        return time.monotonic() >= self._look_by

    async def _next_look(self) -> float:
        """(monotonic) When the soonest notice not due now will be: a retry's
        time, or the lease of a send cut short by a crash; at most
        ``FULL_LOOK_EVERY_S`` away. Asked once the worker goes quiet, not
        after each empty claim: under load a commit comes first."""
        async with self.runtime.sessions() as session:
            retry, lease = (await session.execute(_NEXT_DUE)).one()
        now = utcnow()
        wait = FULL_LOOK_EVERY_S
        for due in (retry, lease):
            if due is not None:
                wait = min(wait, (due - now).total_seconds())
        return time.monotonic() + max(wait, 0.0)

    # -- claim ----------------------------------------------------------------

    async def _claim(
        self, capacities: dict[NotificationChannel, int], limit: int
    ) -> list[Claim]:
        """One transaction for every channel: on SQLite each transaction is a
        turn of the single writer lock, so a round takes one, not three."""
        now = utcnow()
        due = sa.or_(
            sa.and_(
                col(Notice.state).in_(CLAIMABLE),
                col(Notice.next_attempt_at) <= now,
            ),
            # a send cut short by a crash: its outcome is unknown
            sa.and_(
                col(Notice.state) == NoticeState.SENDING.value,
                col(Notice.provider_reference).is_(None),
                col(Notice.accepted_at).is_(None),
                col(Notice.lease_until) < now,
            ),
        )
        claims: list[Claim] = []
        taken: list[tuple[Notice, NotificationChannel]] = []
        parties = _Parties({}, {})
        async with self.runtime.sessions() as session, session.begin():
            for channels, most in _by_capacity(capacities, limit):
                # the notices with their dossiers and recipients: one statement
                rows = await session.execute(
                    sa.select(Notice, DossierContact, Recipient)
                    .outerjoin(
                        DossierContact,
                        col(DossierContact.dossier_code) == col(Notice.dossier_code),
                    )
                    .outerjoin(Recipient, col(Recipient.id) == col(Notice.recipient_id))
                    .where(col(Notice.channel).in_([c.value for c in channels]), due)
                    .order_by(col(Notice.next_attempt_at))
                    .limit(most)
                    .with_for_update(skip_locked=True, of=Notice)
                )
                for notice, dossier, recipient in rows:
                    taken.append((notice, NotificationChannel(notice.channel)))
                    parties.hold(dossier, recipient)
            if not taken:
                self._look_by = None
                return claims
            for notice, channel in taken:
                claim = await self._claim_one(session, notice, channel, parties)
                if claim is not None:
                    claims.append(claim)
        # a notice that failed here wrote its outcome's event; a claim that
        # found nothing wrote nothing, so the relay is not woken for it
        self.runtime.relay.wake()
        return claims

    async def _claim_one(
        self,
        session: AsyncSession,
        notice: Notice,
        channel: NotificationChannel,
        parties: _Parties,
    ) -> Claim | None:
        uncertain = notice.state == NoticeState.SENDING
        if uncertain:
            log.warning(
                "notice_outcome_unknown",
                notice_id=str(notice.id),
                channel=channel.value,
            )
            if (
                channel == NotificationChannel.EMAIL
                and not self.settings.email_resend_uncertain
            ):
                await fail_permanently(
                    session,
                    self.policy,
                    notice,
                    "Không rõ thư đã gửi hay chưa (tiến trình dừng giữa chừng)",
                )
                return None
        if channel == NotificationChannel.POST and not notice.waybill_code:
            waybill = await take_waybill(session, notice)
            if waybill is None:
                await fail_temporarily(
                    session, self.policy, notice, "Hết mã vận đơn trong kho"
                )
                return None
            await register_order(session, notice, waybill)
        notice.state = NoticeState.SENDING
        notice.attempt += 1
        notice.claim_token = uuid.uuid4()
        notice.lease_until = utcnow() + timedelta(seconds=self.settings.sending_lease_s)
        notice.provider = self.providers[channel].name
        notice.provider_idempotency_key = (
            notice.provider_idempotency_key or uuid.uuid4()
        )
        notice.updated_at = utcnow()
        try:
            message = self._message(notice, channel, parties)
        except Exception:
            # one notice whose message cannot be made (an attachment template
            # that fails on its data) must not undo the round's other claims
            # round after round: it fails alone, with its reason
            log.exception(
                "notice_message_failed", notice_id=str(notice.id), channel=channel.value
            )
            await fail_permanently(
                session,
                self.policy,
                notice,
                "Không tạo được nội dung gửi (lỗi mẫu thông báo)",
            )
            return None
        if message is None:
            await fail_permanently(
                session, self.policy, notice, "Không có địa chỉ nhận"
            )
            return None
        return Claim(notice.id, notice.claim_token, channel, message)

    def _message(
        self, notice: Notice, channel: NotificationChannel, parties: _Parties
    ) -> OutgoingMessage | None:
        dossier = parties.dossiers.get(notice.dossier_code)
        recipient = (
            parties.recipients.get(notice.recipient_id) if notice.recipient_id else None
        )
        assert notice.provider_idempotency_key is not None
        base = OutgoingMessage(
            notice_id=notice.id,
            dossier_code=notice.dossier_code,
            channel=channel,
            idempotency_key=notice.provider_idempotency_key,
            destination="",
            text=notice.body,
            subject=notice.subject,
            agency_code=dossier.agency_code if dossier else "",
        )
        if channel == NotificationChannel.SMS:
            phone = recipient.phone if recipient else None
            return replace(base, destination=phone) if phone else None
        if channel == NotificationChannel.EMAIL:
            email = recipient.email if recipient else None
            if not email:
                return None
            attachment = self.policy.renderer.attachment(
                notice.template, notice.context
            )
            return replace(base, destination=email, attachment=attachment)
        receiver = _receiver(dossier, recipient)
        if receiver is None:
            return None
        return replace(
            base,
            destination=receiver.address,
            receiver=receiver,
            waybill_code=notice.waybill_code,
            order_kind=order_kind(notice),
        )

    # -- send and record --------------------------------------------------------

    async def _deliver(self, claim: Claim) -> SendResult:
        provider = self.providers[claim.channel]
        started = time.perf_counter()
        async with self._slots, self.limiters[claim.channel]:
            try:
                result = await asyncio.wait_for(
                    provider.send(claim.message), self.settings.send_timeout_s
                )
            except Exception as exc:  # a provider bug must not lose the notice
                result = SendResult(
                    Outcome.TEMPORARY, detail=type(exc).__name__, provider_fault=True
                )
        self.metrics.send_seconds.labels(claim.channel.value).observe(
            time.perf_counter() - started
        )
        self.metrics.sends.labels(claim.channel.value, result.outcome.value).inc()
        breaker = self.breakers[claim.channel]
        if result.provider_fault:
            breaker.record_failure()
        else:
            breaker.record_success()
        return result

    async def _record(self, outcomes: list[tuple[Claim, SendResult]]) -> None:
        """Record a round's answers in one transaction (one writer turn on
        SQLite instead of one per notice); a claim that is no longer ours
        (a receipt settled it first, or the lease expired) is left alone."""
        async with self.runtime.transaction() as session:
            rows = await session.execute(
                sa.select(Notice)
                .where(col(Notice.id).in_([c.notice_id for c, _ in outcomes]))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            notices = {n.id: n for n in rows.scalars()}
            for claim, result in outcomes:
                notice = notices.get(claim.notice_id)
                if notice is None or notice.claim_token != claim.token:
                    continue
                await self._apply(session, notice, claim.channel, result)
        for claim, result in outcomes:
            log.info(
                "notice_sent",
                notice_id=str(claim.notice_id),
                channel=claim.channel.value,
                outcome=result.outcome.value,
                detail=result.detail,
            )

    async def _apply(
        self,
        session: AsyncSession,
        notice: Notice,
        channel: NotificationChannel,
        result: SendResult,
    ) -> None:
        match result.outcome:
            case Outcome.ACCEPTED:
                mark_accepted(notice, result.reference)
                if channel == NotificationChannel.POST:
                    await order_placed(session, notice)
            case Outcome.DELIVERED:
                mark_delivered(session, notice, result.reference)
            case Outcome.TEMPORARY:
                await fail_temporarily(session, self.policy, notice, result.detail)
            case Outcome.PERMANENT:
                await fail_permanently(session, self.policy, notice, result.detail)

    # -- postal housekeeping ------------------------------------------------------

    async def _maybe_process_cancellations(self) -> bool:
        """Look for cancellation requests at most once per poll interval (the
        look-up is a database turn of its own), and on SQLite only after a
        commit or while requests are left (a request is written in a commit)."""
        now = time.monotonic()
        if (
            not self._cancellations_owed
            or now - self._cancellations_checked < self.settings.worker_poll_interval_s
        ):
            return False
        self._cancellations_checked = now
        return await self._process_cancellations()

    async def _process_cancellations(self) -> bool:
        breaker = self.breakers[NotificationChannel.POST]
        provider = self.providers[NotificationChannel.POST]
        if not isinstance(provider, PostalProvider):
            self._cancellations_owed = False
            return False
        if breaker.state != CircuitState.CLOSED:
            return False  # owed still: looked at once the circuit closes
        self._cancellations_owed = self._commits is None
        async with self.runtime.sessions() as session:
            orders = list(
                (
                    await session.execute(
                        sa.select(PostalOrder)
                        .where(col(PostalOrder.status) == "cancel_requested")
                        .limit(20)
                    )
                ).scalars()
            )
        if orders:
            self._cancellations_owed = True  # refused or failed ones, or more
        for order in orders:
            result = await provider.cancel(order.waybill_code, order.cancel_reason)
            if result.provider_fault:
                breaker.record_failure()
                continue
            breaker.record_success()
            async with self.runtime.transaction() as session:
                current = await session.get(PostalOrder, order.id, with_for_update=True)
                notice = await session.get(Notice, order.notice_id)
                if (
                    current is None
                    or notice is None
                    or current.status != "cancel_requested"
                ):
                    continue
                if result.cancelled:
                    order_cancelled(session, notice, current)
                else:
                    current.status = "placed"
                    log.warning(
                        "postal_cancel_refused",
                        waybill_code=current.waybill_code,
                        detail=result.detail,
                    )
        return bool(orders)

    async def _autofill_waybills(self) -> None:
        count = self.settings.waybill_pool_autofill
        if not count:
            return
        async with self.runtime.transaction() as session:
            if await free_waybills(session):
                return
            used = await session.scalar(
                sa.text("SELECT count(*) FROM notification_waybill")
            )
            added = await load_waybills(
                session, development_waybill_codes(int(used or 0) + 1, count)
            )
        log.info("waybill_pool_filled", added=added)


FULL_LOOK_EVERY_S = 10.0
"""On SQLite, the longest an idle worker goes without claiming (a safety net:
commits and known due times wake it sooner)."""

_NEXT_DUE = sa.select(
    sa.select(sa.func.min(NOTICE.c.next_attempt_at))
    .where(NOTICE.c.state.in_(CLAIMABLE))
    .scalar_subquery(),
    sa.select(sa.func.min(NOTICE.c.lease_until))
    .where(
        NOTICE.c.state == NoticeState.SENDING.value,
        NOTICE.c.provider_reference.is_(None),
        NOTICE.c.accepted_at.is_(None),
    )
    .scalar_subquery(),
)


def _by_capacity(
    capacities: dict[NotificationChannel, int], batch: int
) -> list[tuple[list[NotificationChannel], int]]:
    """The channels to claim for, grouped so that a round asks once for every
    channel allowed a full batch (its circuit closed: the usual case), at most
    a batch in all, and once for each channel allowed less (a half-open
    circuit's one trial). No channel gets more than its capacity."""
    full = [c for c, capacity in capacities.items() if capacity >= batch]
    groups = [(full, batch)] if full else []
    return groups + [
        ([channel], capacity)
        for channel, capacity in capacities.items()
        if capacity < batch
    ]


@dataclass(frozen=True)
class _Parties:
    """The dossiers and recipients of a round's notices, read with them (and
    held: the session keeps loaded rows only while someone refers to them)."""

    dossiers: dict[str, DossierContact]
    recipients: dict[uuid.UUID, Recipient]

    def hold(self, dossier: DossierContact | None, recipient: Recipient | None) -> None:
        if dossier is not None:
            self.dossiers[dossier.dossier_code] = dossier
        if recipient is not None:
            self.recipients[recipient.id] = recipient


def _receiver(
    dossier: DossierContact | None, recipient: Recipient | None
) -> PostalParty | None:
    if dossier is not None and dossier.postal_address:
        postal = dossier.postal_address
        return PostalParty(
            name=postal.get("receiver_name", ""),
            address=format_postal_address(postal),
            phone=postal.get("phone", ""),
            province=postal.get("province_code") or postal.get("province_name") or "",
            commune=postal.get("commune_code") or postal.get("commune_name") or "",
        )
    if recipient is not None and recipient.address:
        return PostalParty(
            name=recipient.full_name,
            address=recipient.address,
            phone=recipient.phone or "",
        )
    return None
