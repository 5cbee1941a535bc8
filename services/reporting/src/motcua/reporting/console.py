"""The operator console (bảng điều khiển vận hành): the page and its JSON.

The page is static and asks for an operator token; everything it shows comes
from ``/api/v1/console/*``: event rates from the projected timeline, lag and
dead letters from the broker, deadlines from the read model. Re-publishing a
dead letter goes through reporting's own outbox, so it cannot be lost.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Annotated, Any

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from motcua.reporting import broker_view, queries
from motcua.reporting.agencies import agency_name
from motcua.reporting.context import ReportingContext, reporting
from motcua.reporting.tables import RepublishRow
from motcua.shared.auth import Principal, Role, require
from motcua.shared.contracts import VN_TZ
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.topics import (
    BUSINESS_TOPICS,
    dead_letter_topic,
    is_dead_letter_topic,
)
from motcua.shared.errors import ApiError, ErrorResponse
from motcua.shared.messaging import add_raw

log = structlog.get_logger(__name__)

router = APIRouter(tags=["console"])
Operator = Annotated[Principal, Depends(require(Role.OPERATOR, Role.ADMIN))]
Context = Annotated[ReportingContext, Depends(reporting)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
}


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
async def console_page() -> str:
    return (files("motcua.reporting") / "static" / "console.html").read_text("utf-8")


class TopicRate(BaseModel):
    topic: str
    event_type: str | None
    count: int
    per_minute: float


class MinuteCounts(BaseModel):
    minute: datetime
    counts: dict[str, int]


class LagOut(BaseModel):
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


class DeadLetterTopicOut(BaseModel):
    group: str
    topic: str
    count: int
    republished: int


class AgencyDeadlines(BaseModel):
    agency_code: str | None
    agency_name: str
    overdue: int
    nearly_due: int


class DeadlineOut(BaseModel):
    dossier_code: str
    agency_code: str | None
    due_at: datetime
    overdue: bool


class Overview(BaseModel):
    generated_at: datetime
    window_s: int
    topics: list[TopicRate]
    event_types: list[TopicRate]
    per_minute: list[MinuteCounts]
    lag: list[LagOut]
    dead_letters: list[DeadLetterTopicOut]
    agencies: list[AgencyDeadlines]
    deadlines: list[DeadlineOut]
    broker_error: str | None = None
    alerts_url: str | None = None
    """Where the operators' alerts are (MOTCUA_REPORTING_ALERTS_URL)."""
    portal_console_url: str | None = None
    """The national portal sync's console (MOTCUA_REPORTING_PORTAL_CONSOLE_URL)."""


@router.get(
    "/api/v1/console/overview",
    response_model=Overview,
    responses=_ERRORS,
    summary="Event rates, consumer lag, dead letters and deadlines",
)
async def overview(
    _operator: Operator,
    ctx: Context,
    window_s: Annotated[int, Query(ge=10, le=86400)] = 300,
) -> Overview:
    now = datetime.now(UTC)
    async with ctx.runtime.sessions() as session:
        by_type = await queries.flow(session, since=now - timedelta(seconds=window_s))
        minutes = await queries.flow_per_minute(session, now=now, minutes=15)
        due = await queries.deadlines(
            session, now=now, window=timedelta(hours=ctx.settings.nearly_due_hours)
        )
        republished = await _republished_counts(session)
    per_minute = 60 / window_s
    totals: dict[str, int] = {}
    for topic, _type, n in by_type:
        totals[topic] = totals.get(topic, 0) + n
    result = Overview(
        generated_at=now.astimezone(VN_TZ),
        window_s=window_s,
        topics=[
            TopicRate(
                topic=t,
                event_type=None,
                count=totals.get(t, 0),
                per_minute=round(totals.get(t, 0) * per_minute, 2),
            )
            for t in BUSINESS_TOPICS
        ],
        event_types=[
            TopicRate(
                topic=t, event_type=e, count=n, per_minute=round(n * per_minute, 2)
            )
            for t, e, n in by_type
        ],
        per_minute=[
            MinuteCounts(minute=m.astimezone(VN_TZ), counts=c) for m, c in minutes
        ],
        lag=[],
        dead_letters=[],
        agencies=[
            AgencyDeadlines(
                agency_code=code,
                agency_name=agency_name(code),
                overdue=overdue,
                nearly_due=nearly,
            )
            for code, (overdue, nearly) in sorted(
                due.per_agency.items(),
                key=lambda kv: (-kv[1][0], -kv[1][1], kv[0] or ""),
            )
        ],
        deadlines=[
            DeadlineOut(
                dossier_code=e.dossier_code,
                agency_code=e.agency_code,
                due_at=e.due_at.astimezone(VN_TZ),
                overdue=e.overdue,
            )
            for e in due.entries
        ],
        alerts_url=ctx.settings.alerts_url,
        portal_console_url=ctx.settings.portal_console_url,
    )
    try:
        await _add_broker_view(ctx, result, republished)
    except Exception as exc:  # the console must show the rest when the broker is down
        log.warning("console_broker_unavailable", error=repr(exc))
        result.broker_error = (
            f"Không đọc được trạng thái từ Kafka: {type(exc).__name__}"
        )
    return result


async def _add_broker_view(
    ctx: ReportingContext, result: Overview, republished: dict[str, int]
) -> None:
    groups = ctx.settings.groups
    dlt_topics = [dead_letter_topic(g) for g in groups]
    kafka = ctx.settings.kafka
    lags, ends = await broker_view.consumer_lag(
        kafka, groups, [*BUSINESS_TOPICS, *dlt_topics]
    )
    result.lag = [
        LagOut(
            group=lag.group,
            topic=lag.topic,
            partition=lag.partition,
            committed=lag.committed,
            end=lag.end,
            lag=lag.lag,
        )
        for lag in lags
    ]
    result.dead_letters = [
        DeadLetterTopicOut(
            group=group,
            topic=topic,
            count=sum(n for tp, n in ends.items() if tp.topic == topic),
            republished=republished.get(topic, 0),
        )
        for group, topic in zip(groups, dlt_topics, strict=True)
    ]


async def _republished_counts(session: Any) -> dict[str, int]:
    r = RepublishRow.__table__  # type: ignore[attr-defined]
    rows = await session.execute(
        sa.select(r.c.dlt_topic, sa.func.count()).group_by(r.c.dlt_topic)
    )
    return {topic: int(n) for topic, n in rows}


# -- dead letters -------------------------------------------------------------------


class DeadLetterOut(BaseModel):
    topic: str
    partition: int
    offset: int
    key: str | None
    event_id: str
    event_type: str | None
    consumer: str | None
    original_topic: str | None
    error: str | None
    error_type: str | None
    reason: str | None = None
    """Stable code of why it was dead-lettered (``dlt-reason``)."""
    attempts: str | None
    failed_at: str | None
    body: Any
    body_bytes: int = 0
    """Size of the failed record's body."""
    body_truncated: bool = False
    """The body is larger than the console shows: ``body`` is the masked text
    of its beginning."""
    republished_at: datetime | None


def _dead_letter_topic(topic: str) -> str:
    if not is_dead_letter_topic(topic):
        raise ApiError(
            404, "not_a_dead_letter_topic", f"{topic} không phải chủ đề thư lỗi."
        )
    return topic


@router.get(
    "/api/v1/console/dead-letters/{topic}",
    response_model=list[DeadLetterOut],
    responses={**_ERRORS, 404: {"model": ErrorResponse}},
    summary="The newest failed records of a dead-letter topic (personal data masked)",
)
async def dead_letters(
    topic: str,
    _operator: Operator,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[DeadLetterOut]:
    records = await broker_view.read_dead_letters(
        ctx.settings.kafka, _dead_letter_topic(topic), limit=limit
    )
    r = RepublishRow.__table__  # type: ignore[attr-defined]
    async with ctx.runtime.sessions() as session:
        done = {
            (row.dlt_partition, row.dlt_offset): row.republished_at
            for row in await session.execute(
                sa.select(r.c.dlt_partition, r.c.dlt_offset, r.c.republished_at).where(
                    r.c.dlt_topic == topic
                )
            )
        }
    return [
        DeadLetterOut(
            topic=d.topic,
            partition=d.partition,
            offset=d.offset,
            key=d.key,
            event_id=d.message_id,
            event_type=d.headers.get(h.EVENT_TYPE),
            consumer=d.headers.get(h.DLT_CONSUMER),
            original_topic=d.headers.get(h.DLT_ORIGINAL_TOPIC),
            error=d.headers.get(h.DLT_ERROR),
            error_type=d.headers.get(h.DLT_ERROR_TYPE),
            reason=d.headers.get(h.DLT_REASON),
            attempts=d.headers.get(h.DLT_ATTEMPTS),
            failed_at=d.headers.get(h.DLT_FAILED_AT),
            body=d.masked_body(),
            body_bytes=len(d.value),
            body_truncated=d.truncated,
            republished_at=done.get((d.partition, d.offset)),
        )
        for d in records
    ]


class RepublishOut(BaseModel):
    original_topic: str
    event_id: str
    message: str


@router.post(
    "/api/v1/console/dead-letters/{topic}/{partition}/{offset}/republish",
    status_code=202,
    response_model=RepublishOut,
    responses={**_ERRORS, 404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}},
    summary="Re-publish a failed record to its original topic (after a fix)",
)
async def republish(
    topic: str,
    partition: int,
    offset: int,
    operator: Operator,
    ctx: Context,
    again: Annotated[
        bool, Query(description="Even if it was re-published before.")
    ] = False,
) -> RepublishOut:
    record = await broker_view.read_record(
        ctx.settings.kafka, _dead_letter_topic(topic), partition, offset
    )
    if record is None:
        raise ApiError(404, "dead_letter_not_found", "Không tìm thấy thư lỗi này.")
    original = record.headers.get(h.DLT_ORIGINAL_TOPIC)
    if not original:
        raise ApiError(
            409,
            "dead_letter_unroutable",
            "Thư lỗi không ghi chủ đề gốc, không thể gửi lại.",
        )
    headers = {k: v for k, v in record.headers.items() if not k.startswith("dlt-")}
    headers[h.REPLAY_OF] = f"{topic}/{partition}/{offset}"
    r = RepublishRow.__table__  # type: ignore[attr-defined]
    async with ctx.runtime.transaction() as session:
        if again:
            await session.execute(
                sa.delete(r).where(
                    r.c.dlt_topic == topic,
                    r.c.dlt_partition == partition,
                    r.c.dlt_offset == offset,
                )
            )
        elif await session.scalar(
            sa.select(sa.func.count()).where(
                r.c.dlt_topic == topic,
                r.c.dlt_partition == partition,
                r.c.dlt_offset == offset,
            )
        ):
            raise ApiError(
                409,
                "already_republished",
                "Thư lỗi này đã được gửi lại; dùng again=true để gửi thêm lần nữa.",
            )
        session.add(
            RepublishRow(
                dlt_topic=topic,
                dlt_partition=partition,
                dlt_offset=offset,
                original_topic=original,
                message_id=record.message_id,
                operator=operator.subject,
            )
        )
        add_raw(
            session,
            topic=original,
            key=record.headers.get(h.DLT_ORIGINAL_KEY) or record.key,
            payload=record.value,
            headers=headers,
        )
    log.info(
        "dead_letter_republished",
        dlt_topic=topic,
        partition=partition,
        offset=offset,
        original_topic=original,
        operator=operator.subject,
    )
    return RepublishOut(
        original_topic=original,
        event_id=record.message_id,
        message=f"Đã gửi lại bản ghi vào {original}.",
    )
