"""The process control sheet, form 05 (phiếu kiểm soát quá trình giải quyết
hồ sơ), folded from a dossier's routing events (pure).

Each hand-over is one row: who handed the dossier over (agency, officer,
time), who received it (agency, officer, time of acknowledgement), and whether
the giving side handed over early, on time or late against its step due time.
The first row is the reception desk taking the dossier from the applicant; the
last, when there is one, the result handed to the applicant, measured against
the appointment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from motcua.routing.domain import form05_mark, format_moment
from motcua.shared.contracts.dossier import DossierWithdrawnV1
from motcua.shared.contracts.envelope import EventEnvelope
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    DossierRoutedV1,
    FeePaidV1,
    FeeRequestedV1,
    HandoffAcknowledgedV1,
    HandoffEscalatedV1,
    HandoffOfferedV1,
    HandoffReturnedV1,
    ProcessingResumedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    RoutedStep,
    StepCompletedV1,
    SupplementRequestedV1,
    Timeliness,
)

TIMELINESS_VI = {
    Timeliness.EARLY: "Trước hạn",
    Timeliness.ON_TIME: "Đúng hạn",
    Timeliness.LATE: "Quá hạn",
}


class HandOverKind(StrEnum):
    RECEPTION = "reception"  # the desk receives from the applicant
    FORWARD = "forward"  # a step completed, the next agency receives
    RETURN = "return"  # sent back to the previous agency
    RESULT = "result"  # the result handed to the applicant


@dataclass(frozen=True)
class HandOver:
    """One row of form 05: "Giao: A / Nhận: B"."""

    no: int
    kind: HandOverKind
    step_no: int | None
    from_agency_code: str | None
    """None: the applicant (người nộp hồ sơ)."""
    from_officer: str | None
    handed_over_at: datetime
    to_agency_code: str | None
    """None: the applicant (the result was handed over)."""
    received_by: str | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    """The deadline the giving side is measured against."""
    timeliness: Timeliness | None = None
    note: str = ""


@dataclass(frozen=True)
class SheetNote:
    """Something that happened between hand-overs (supplement, fee, apology…)."""

    at: datetime
    agency_code: str | None
    text: str


@dataclass(frozen=True)
class ControlSheet:
    dossier_code: str
    steps: tuple[RoutedStep, ...] = ()
    competent_agency_code: str | None = None
    hand_overs: tuple[HandOver, ...] = ()
    notes: tuple[SheetNote, ...] = ()
    due_at: datetime | None = None
    """The appointment as it stands (after pauses and apologies)."""
    resolved_at: datetime | None = None
    result_timeliness: Timeliness | None = None
    delivered_at: datetime | None = None

    @property
    def co_ordinating_agency_codes(self) -> tuple[str, ...]:
        """Agencies of the workflow other than the desk and the competent one."""
        seen: dict[str, None] = {}
        for step in self.steps:
            if step.role.startswith("specialist:"):
                seen[step.agency_code] = None
        return tuple(c for c in seen if c != self.competent_agency_code)


@dataclass
class _Pending:
    """A hand-over started (step completed or returned) whose receiver is next."""

    kind: HandOverKind
    due_at: datetime | None
    timeliness: Timeliness | None
    note: str = ""


@dataclass
class _Fold:
    code: str
    due_at: datetime | None
    steps: tuple[RoutedStep, ...] = ()
    competent: str | None = None
    rows: list[HandOver] = field(default_factory=list)
    notes: list[SheetNote] = field(default_factory=list)
    pending: _Pending | None = None
    step_due: datetime | None = None
    last_officer: str | None = None
    resolved_at: datetime | None = None
    result_timeliness: Timeliness | None = None
    delivered_at: datetime | None = None

    def note(self, event: EventEnvelope[Any], text: str) -> None:
        self.notes.append(SheetNote(event.occurred_at, event.agency_code, text))

    def add_row(self, row: HandOver) -> None:
        self.rows.append(replace(row, no=len(self.rows) + 1))

    def acknowledge(self, ack: HandoffAcknowledgedV1, at: datetime) -> None:
        for index in range(len(self.rows) - 1, -1, -1):
            row = self.rows[index]
            if row.to_agency_code == ack.to_agency_code and row.received_at is None:
                self.rows[index] = replace(row, received_by=ack.officer, received_at=at)
                return


def build_control_sheet(
    dossier_code: str,
    events: Iterable[EventEnvelope[Any]],
    *,
    appointment: datetime | None = None,
) -> ControlSheet:
    """Fold a dossier's routing events, in order, into its control sheet."""
    fold = _Fold(dossier_code, appointment)
    for event in events:
        _apply(fold, event)
    return ControlSheet(
        dossier_code=dossier_code,
        steps=fold.steps,
        competent_agency_code=fold.competent,
        hand_overs=tuple(fold.rows),
        notes=tuple(fold.notes),
        due_at=fold.due_at,
        resolved_at=fold.resolved_at,
        result_timeliness=fold.result_timeliness,
        delivered_at=fold.delivered_at,
    )


def _apply(fold: _Fold, event: EventEnvelope[Any]) -> None:
    at = event.occurred_at
    match event.data:
        case DossierRoutedV1() as routed:
            fold.steps = tuple(routed.steps)
            fold.competent = routed.competent_agency_code
        case HandoffOfferedV1() as offered:
            _offered(fold, offered, at)
        case HandoffAcknowledgedV1() as ack:
            fold.acknowledge(ack, at)
        case StepCompletedV1() as completed:
            fold.last_officer = completed.officer
            if completed.next_agency_code is not None:
                fold.pending = _Pending(
                    HandOverKind.FORWARD, completed.step_due_at, completed.timeliness
                )
        case HandoffReturnedV1() as returned:
            fold.pending = _Pending(
                HandOverKind.RETURN,
                fold.step_due,
                form05_mark(at, fold.step_due),
                note=f"Trả lại: {returned.reason}",
            )
        case ProcessingResumedV1() as resumed:
            fold.step_due = resumed.step_due_at
            fold.due_at = resumed.due_at or fold.due_at
            fold.note(
                event,
                f"Tiếp tục xử lý sau {resumed.paused_working_hours:g} giờ làm việc tạm "
                "dừng; thời hạn được lùi tương ứng.",
            )
        case SupplementRequestedV1() as supplement:
            fold.note(
                event,
                "Yêu cầu bổ sung hồ sơ: " + "; ".join(supplement.requested_components),
            )
        case FeeRequestedV1() as fee:
            fold.note(event, f"Yêu cầu nộp phí, lệ phí: {fee.amount_vnd:,} đồng.")
        case FeePaidV1() as paid:
            fold.note(event, f"Đã nộp phí, lệ phí: {paid.amount_vnd:,} đồng.")
        case ApologyIssuedV1() as apology:
            fold.due_at = apology.new_due_at
            fold.note(
                event,
                f"Thư xin lỗi (mẫu 04): {apology.reason}. Hẹn lại ngày trả kết quả "
                f"{format_moment(apology.new_due_at)}.",
            )
        case HandoffEscalatedV1():
            fold.note(event, "Quá thời gian chờ tiếp nhận: đã báo lãnh đạo.")
        case ResultRecordedV1() as result:
            fold.resolved_at = result.resolved_at
            fold.result_timeliness = result.timeliness
            fold.note(event, "Đã có kết quả giải quyết.")
        case ResultDeliveredV1() as delivered:
            _delivered(fold, delivered, at)
        case ProcessingStoppedV1() as stopped:
            fold.note(event, f"Dừng xử lý: {stopped.reason}")
        case DossierWithdrawnV1() as withdrawn:
            fold.note(
                event,
                "Công dân rút hồ sơ."
                + (f" {withdrawn.reason}" if withdrawn.reason else ""),
            )
        case _:
            return


def _offered(fold: _Fold, offered: HandoffOfferedV1, at: datetime) -> None:
    fold.step_due = offered.step_due_at
    pending, fold.pending = fold.pending, None
    if offered.from_agency_code is None:
        kind = HandOverKind.RECEPTION
    else:
        kind = pending.kind if pending else HandOverKind.FORWARD
    fold.add_row(
        HandOver(
            no=0,
            kind=kind,
            step_no=offered.step_no,
            from_agency_code=offered.from_agency_code,
            from_officer=offered.officer,
            handed_over_at=at,
            to_agency_code=offered.to_agency_code,
            due_at=pending.due_at if pending else None,
            timeliness=pending.timeliness if pending else None,
            note=pending.note if pending else "",
        )
    )


def _delivered(fold: _Fold, delivered: ResultDeliveredV1, at: datetime) -> None:
    fold.delivered_at = delivered.delivered_at
    holder = fold.rows[-1].to_agency_code if fold.rows else None
    officer = fold.last_officer if delivered.method != "post" else None
    note = {
        "post": "Trả qua dịch vụ bưu chính công ích.",
        "electronic": "Trả kết quả điện tử.",
    }
    fold.add_row(
        HandOver(
            no=0,
            kind=HandOverKind.RESULT,
            step_no=None,
            from_agency_code=holder,
            from_officer=officer,
            handed_over_at=at,
            to_agency_code=None,
            due_at=fold.due_at,
            timeliness=form05_mark(delivered.delivered_at, fold.due_at),
            note=note.get(delivered.method, ""),
        )
    )
