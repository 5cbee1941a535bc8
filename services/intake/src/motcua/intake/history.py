"""Dossiers from a legacy system (pure): reading JSON Lines and CSV rows,
checking them, and the events that retell each one's history.

Every event of a row gets a deterministic id (uuid5 of the dossier code and the
event type), so loading the same file twice publishes nothing new.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from motcua.intake.applicants import check_tax_code
from motcua.intake.catalogue import Procedure
from motcua.intake.reception import appointment, workflow_for
from motcua.intake.schemas import Contact
from motcua.shared.contracts import VN_TZ
from motcua.shared.contracts.common import (
    ApplicantKind,
    Channel,
    DossierStatus,
    ResultDelivery,
)
from motcua.shared.contracts.dossier import (
    DossierEventData,
    DossierReceivedV2,
    DossierRefusedV2,
    DossierWithdrawnV1,
    Person,
    PersonalData,
    SealedPersonalData,
    SubmittedComponent,
)
from motcua.shared.contracts.handoff import (
    FeeRequestedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    SupplementRequestedV1,
)
from motcua.shared.domain.calendar import WorkCalendar
from motcua.shared.domain.status import RESULT_STATUSES
from motcua.shared.domain.timeliness import Granularity, timeliness
from motcua.shared.error_shape import translate_validation_errors

IMPORT_NAMESPACE = uuid.UUID("6f1c2b0e-3c55-5a7e-9d0b-6d6f74637561")
"""uuid5 namespace of imported events (fixed forever: ids must not change)."""

CODE_PATTERN = re.compile(r"^(\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})-(\d{6})-(\d{4})$")
LIST_SEPARATOR = "|"
_LIST_COLUMNS = frozenset({"reasons"})


def _vietnam_time(value: Any) -> Any:
    """Naive times in legacy exports are Vietnam time."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            msg = "Thời gian không đúng định dạng ISO 8601 (YYYY-MM-DDTHH:MM)."
            raise ValueError(msg) from exc
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=VN_TZ)
    return value


class HistoricalPerson(Contact):
    """An applicant as legacy systems stored them: the 9-digit ID card (CMND)
    of earlier years is accepted besides the 12-digit personal ID."""

    model_config = ConfigDict(extra="forbid")

    kind: ApplicantKind = ApplicantKind.CITIZEN
    full_name: str = Field(min_length=1, max_length=200)
    id_number: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=500)

    @field_validator("id_number")
    @classmethod
    def _id(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        if info.data.get("kind") is ApplicantKind.ORGANISATION:
            return check_tax_code(value)
        if not re.fullmatch(r"\d{9}|\d{12}", value.strip()):
            msg = "Số giấy tờ tùy thân phải gồm 9 (CMND) hoặc 12 (CCCD) chữ số."
            raise ValueError(msg)
        return value.strip()


class HistoricalDossier(BaseModel):
    """One row of an import file (see the intake README for the format)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="The dossier code the legacy system gave.")
    procedure_code: str
    receiving_agency_code: str
    channel: Channel = Channel.DIRECT
    received_at: datetime
    due_at: datetime | None = None
    status: DossierStatus
    applicant: HistoricalPerson
    result_delivery: ResultDelivery = ResultDelivery.DESK
    resolved_at: datetime | None = None
    delivered_at: datetime | None = None
    withdrawn_at: datetime | None = None
    stopped_at: datetime | None = None
    paused_at: datetime | None = Field(
        default=None,
        description="Since when a status 5 (supplement) or 6 (fee) dossier waits.",
    )
    reasons: list[str] = Field(default_factory=list)
    result_summary: str = ""

    @field_validator(
        "received_at",
        "due_at",
        "resolved_at",
        "delivered_at",
        "withdrawn_at",
        "stopped_at",
        "paused_at",
        mode="before",
    )
    @classmethod
    def _times(cls, value: Any) -> Any:
        return _vietnam_time(value)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not CODE_PATTERN.match(value):
            msg = "Mã hồ sơ phải có dạng <mã cơ quan>-<yyMMdd>-<NNNN>."
            raise ValueError(msg)
        return value

    @field_validator("status")
    @classmethod
    def _status(cls, value: DossierStatus) -> DossierStatus:
        if value is DossierStatus.SUBMITTED:
            msg = "Hồ sơ chưa được tiếp nhận (trạng thái 1) không được nhập."
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _coherent(self) -> HistoricalDossier:
        _check_code(self)
        _check_outcome_times(self)
        return self

    @property
    def sequence(self) -> int:
        match = CODE_PATTERN.match(self.code)
        assert match is not None
        return int(match.group(3))


def _check_code(row: HistoricalDossier) -> None:
    match = CODE_PATTERN.match(row.code)
    assert match is not None
    if match.group(1) != row.receiving_agency_code:
        msg = "Mã hồ sơ không bắt đầu bằng mã cơ quan tiếp nhận."
        raise ValueError(msg)
    if match.group(2) != f"{row.received_at.astimezone(VN_TZ):%y%m%d}":
        msg = "Ngày trong mã hồ sơ khác ngày tiếp nhận."
        raise ValueError(msg)


_NEEDS: dict[DossierStatus, tuple[str, ...]] = {
    DossierStatus.RESOLVED: ("resolved_at",),
    DossierStatus.RESULT_DELIVERED: ("resolved_at", "delivered_at"),
    DossierStatus.WITHDRAWN: ("withdrawn_at",),
    DossierStatus.STOPPED: ("stopped_at",),
    DossierStatus.AWAITING_SUPPLEMENT: ("paused_at",),
    DossierStatus.AWAITING_FEE: ("paused_at",),
}


def _check_outcome_times(row: HistoricalDossier) -> None:
    for name in _NEEDS.get(row.status, ()):
        if getattr(row, name) is None:
            msg = f"Trạng thái {int(row.status)} cần thời điểm {name}."
            raise ValueError(msg)
    for name in (
        "resolved_at",
        "delivered_at",
        "withdrawn_at",
        "stopped_at",
        "paused_at",
    ):
        moment = getattr(row, name)
        if moment is not None and moment < row.received_at:
            msg = f"{name} trước thời điểm tiếp nhận."
            raise ValueError(msg)
    if row.delivered_at and row.resolved_at and row.delivered_at < row.resolved_at:
        msg = "delivered_at trước resolved_at."
        raise ValueError(msg)
    if row.status is DossierStatus.REFUSED and not row.reasons:
        msg = "Hồ sơ bị từ chối (trạng thái 3) cần lý do (reasons)."
        raise ValueError(msg)


# -- reading files ---------------------------------------------------------------


@dataclass(frozen=True)
class RawRow:
    line: int
    data: dict[str, Any] | None
    error: str | None = None


def read_rows(path: Path, file_format: str = "auto") -> Iterator[RawRow]:
    """Rows of a JSON Lines or CSV file, with their line numbers."""
    kind = file_format
    if kind == "auto":
        kind = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    if kind == "csv":
        yield from _csv_rows(path)
    else:
        yield from _jsonl_rows(path)


def _jsonl_rows(path: Path) -> Iterator[RawRow]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RawRow(number, None, f"không phải JSON hợp lệ ({exc.msg})")
                continue
            if not isinstance(data, dict):
                yield RawRow(number, None, "mỗi dòng phải là một đối tượng JSON")
                continue
            yield RawRow(number, data)


def _csv_rows(path: Path) -> Iterator[RawRow]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            yield RawRow(reader.line_num, unflatten(row))


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """CSV columns ``applicant.full_name`` → nested objects; empty cells are
    absent; list columns are split on ``|``."""
    nested: dict[str, Any] = {}
    for column, value in row.items():
        if column is None or value is None or str(value).strip() == "":
            continue
        text = str(value).strip()
        parts = column.strip().split(".")
        target = nested
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        if parts[-1] in _LIST_COLUMNS:
            target[parts[-1]] = [v.strip() for v in text.split(LIST_SEPARATOR)]
        else:
            target[parts[-1]] = text
    return nested


def parse_row(raw: RawRow) -> tuple[HistoricalDossier | None, list[str]]:
    """A checked row, or the reasons it is rejected (Vietnamese, per field)."""
    if raw.data is None:
        return None, [raw.error or "dòng không đọc được"]
    try:
        return HistoricalDossier.model_validate(raw.data), []
    except ValidationError as exc:
        details = translate_validation_errors(list(exc.errors()))
        return None, [
            f"{d.field}: {d.message}" if d.field != "body" else d.message
            for d in details
        ]


# -- the events that retell a row ---------------------------------------------------


def event_id(code: str, event_type: str) -> uuid.UUID:
    return uuid.uuid5(IMPORT_NAMESPACE, f"{code}/{event_type}")


@dataclass(frozen=True)
class HistoricEvent:
    data: DossierEventData
    occurred_at: datetime


def due_time(
    row: HistoricalDossier, procedure: Procedure, calendar: WorkCalendar
) -> tuple[datetime | None, datetime | None]:
    """(clock start, due) from the row, or computed from the procedure's limit."""
    if row.status is DossierStatus.REFUSED:
        return None, None
    terms = appointment(calendar, row.received_at, procedure.time_limit(row.channel))
    return terms.clock_started_at, row.due_at or terms.due_at


def history_events(
    row: HistoricalDossier,
    procedure: Procedure,
    version: int,
    calendar: WorkCalendar,
    field_name: str | None,
    seal: Callable[[PersonalData], SealedPersonalData],
) -> list[HistoricEvent]:
    """The events of a row, oldest first; ``seal`` seals the applicant for the
    entitled services (ADR 0007)."""
    sealed = seal(PersonalData(applicant=Person(**row.applicant.model_dump())))
    if row.status is DossierStatus.REFUSED:
        refused = DossierRefusedV2(
            procedure_code=row.procedure_code,
            receiving_agency_code=row.receiving_agency_code,
            channel=row.channel,
            reasons=row.reasons,
            personal_data=sealed,
        )
        return [HistoricEvent(refused, row.received_at)]
    clock_start, due = due_time(row, procedure, calendar)
    received = DossierReceivedV2(
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        procedure_version=version,
        field_code=procedure.field_code,
        field_name=field_name,
        procedure_level=procedure.level,
        inter_agency=procedure.inter_agency,
        competent_agency_type=procedure.competent_agency_type,
        channel=row.channel,
        receiving_agency_code=row.receiving_agency_code,
        received_at=row.received_at,
        clock_started_at=clock_start,
        due_at=due,
        time_limit=str(procedure.time_limit(row.channel)),
        personal_data=sealed,
        result_delivery=row.result_delivery,
        components=[
            SubmittedComponent(
                code=c.code, name=c.name, original=c.original, copies=c.copies
            )
            for c in procedure.required_components()
        ],
        workflow=workflow_for(procedure, row.channel),
        notify_channels=[],
        fee_vnd=procedure.fee_vnd,
    )
    events = [HistoricEvent(received, row.received_at)]
    events += _pause_events(row, procedure)
    events += _outcome_events(row, due)
    return events


def _pause_events(row: HistoricalDossier, procedure: Procedure) -> list[HistoricEvent]:
    """A dossier imported while waiting for a supplement or a fee carries its
    pause, so reports count it as paused (within time), not by its appointment."""
    if row.paused_at is None:
        return []
    reason = "; ".join(row.reasons)
    if row.status is DossierStatus.AWAITING_SUPPLEMENT:
        requested = SupplementRequestedV1(requested_components=[], reason=reason)
        return [HistoricEvent(requested, row.paused_at)]
    if row.status is DossierStatus.AWAITING_FEE:
        fee = FeeRequestedV1(amount_vnd=procedure.fee_vnd, description=reason)
        return [HistoricEvent(fee, row.paused_at)]
    return []


def _outcome_events(
    row: HistoricalDossier, due: datetime | None
) -> list[HistoricEvent]:
    events: list[HistoricEvent] = []
    if row.resolved_at and row.status in RESULT_STATUSES:
        recorded = ResultRecordedV1(
            resolved_at=row.resolved_at,
            due_at=due,
            # as Biểu 06 counts it (docs/adr/0005-timeliness-compares-days.md)
            timeliness=timeliness(row.resolved_at, due, granularity=Granularity.DAY),
            result_summary=row.result_summary,
        )
        events.append(HistoricEvent(recorded, row.resolved_at))
    if row.delivered_at and row.status is DossierStatus.RESULT_DELIVERED:
        delivered = ResultDeliveredV1(
            delivered_at=row.delivered_at, method=row.result_delivery.value
        )
        events.append(HistoricEvent(delivered, row.delivered_at))
    if row.withdrawn_at and row.status is DossierStatus.WITHDRAWN:
        reason = "; ".join(row.reasons)
        events.append(
            HistoricEvent(DossierWithdrawnV1(reason=reason), row.withdrawn_at)
        )
    if row.stopped_at and row.status is DossierStatus.STOPPED:
        reason = "; ".join(row.reasons) or "Dừng xử lý (dữ liệu lịch sử)"
        events.append(HistoricEvent(ProcessingStoppedV1(reason=reason), row.stopped_at))
    return events
