"""The procedure catalogue (danh mục thủ tục hành chính), pure.

A procedure is versioned data: the repository ships it in ``data/catalogue.toml``
and an administrator can publish a new version through the API. Each dossier
records the version it was received under, so a later edit never changes the
appointment or the workflow of dossiers already received.

A procedure's internal workflow (quy trình nội bộ) lists the steps routing will
follow, each held by a role and allotted working hours; the hours of the
workflow used for a channel must add up to that channel's legal limit. A
"same day" limit counts as one working day, a limit in calendar days as that
many working days (an upper bound: the appointment itself follows the
calendar-day rule).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from motcua.shared.contracts.common import AgencyLevel, Channel
from motcua.shared.domain.agencies import AGENCY_TYPES, StepRole
from motcua.shared.domain.calendar import LimitUnit, TimeLimit

PROCEDURE_CODE = re.compile(r"^\d\.\d{6}(\.\d{2})?$")
DEFAULT_HOURS_PER_DAY = 8.0


class OnlineLevel(StrEnum):
    """NĐ 42/2022: toàn trình (fully online) or một phần (partly online)."""

    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldOfProcedures(_Model):
    """A field (lĩnh vực) grouping procedures, e.g. Hộ tịch."""

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)


class Component(_Model):
    """A document the applicant files (thành phần hồ sơ)."""

    code: str = Field(min_length=1, max_length=64, examples=["to_khai"])
    name: str = Field(min_length=1, max_length=300)
    original: bool = Field(
        default=False, description="True: the original (bản chính); else a copy."
    )
    copies: int = Field(default=1, ge=1, le=20)
    required: bool = True


class Step(_Model):
    """One step of the internal workflow."""

    role: str = Field(
        description="`receiving_desk`, `competent_agency` or "
        "`specialist:<agency type>[@<level>]`.",
        examples=["receiving_desk"],
    )
    name: str = Field(min_length=1, max_length=300)
    hours: float = Field(gt=0, le=2000, description="Allotted working hours.")

    @field_validator("role")
    @classmethod
    def _known_role(cls, role: str) -> str:
        StepRole.parse(role)  # raises a Vietnamese ValueError
        return role


class Procedure(_Model):
    """One administrative procedure (thủ tục hành chính) as published."""

    code: str = Field(
        description="National code in the procedure database (CSDL TTHC).",
        examples=["1.001193"],
    )
    name: str = Field(min_length=1, max_length=500)
    field_code: str = Field(min_length=1, max_length=32)
    level: AgencyLevel
    competent_agency_type: str = Field(
        description="Agency type that decides; routing resolves it near the "
        "receiving agency.",
        examples=["peoples_committee"],
    )
    channels: tuple[Channel, ...] = (Channel.DIRECT, Channel.ONLINE, Channel.POSTAL)
    time_limits: dict[str, str] = Field(
        description="Legal limit per channel (`direct`, `online`, `postal`), with "
        "`default` for the others: `3wd`, `5h`, `10d` or `same-day`.",
        examples=[{"default": "same-day"}],
    )
    workflows: dict[str, tuple[Step, ...]] = Field(
        description="Internal workflow per channel, `default` for the others; its "
        "hours add up to that channel's limit."
    )
    components: tuple[Component, ...] = ()
    fee_vnd: int = Field(default=0, ge=0)
    fee_note: str = ""
    online_level: OnlineLevel = OnlineLevel.PARTIAL
    inter_agency: bool = False
    result: str = Field(default="", description="What the citizen receives.")
    legal_basis: str = ""
    note: str = ""

    @field_validator("code")
    @classmethod
    def _code_shape(cls, code: str) -> str:
        if not PROCEDURE_CODE.match(code):
            msg = f"Mã thủ tục '{code}' không đúng dạng (ví dụ 1.001193)."
            raise ValueError(msg)
        return code

    @field_validator("competent_agency_type")
    @classmethod
    def _agency_type(cls, value: str) -> str:
        if value not in AGENCY_TYPES:
            msg = f"Loại cơ quan '{value}' không có trong danh mục cơ quan."
            raise ValueError(msg)
        return value

    @field_validator("time_limits")
    @classmethod
    def _limits(cls, limits: dict[str, str]) -> dict[str, str]:
        if "default" not in limits:
            msg = "Cần thời hạn mặc định (khóa 'default')."
            raise ValueError(msg)
        for key, text in limits.items():
            _channel_key(key)
            TimeLimit.parse(text)
        return {key: str(TimeLimit.parse(text)) for key, text in limits.items()}

    @field_validator("workflows")
    @classmethod
    def _workflow_keys(
        cls, workflows: dict[str, tuple[Step, ...]]
    ) -> dict[str, tuple[Step, ...]]:
        if "default" not in workflows:
            msg = "Cần quy trình nội bộ mặc định (khóa 'default')."
            raise ValueError(msg)
        for key, steps in workflows.items():
            _channel_key(key)
            if not steps:
                msg = f"Quy trình '{key}' chưa có bước nào."
                raise ValueError(msg)
        return workflows

    def time_limit(self, channel: Channel) -> TimeLimit:
        text = self.time_limits.get(channel.value, self.time_limits["default"])
        return TimeLimit.parse(text)

    def workflow(self, channel: Channel) -> tuple[Step, ...]:
        return self.workflows.get(channel.value, self.workflows["default"])

    def required_components(self) -> tuple[Component, ...]:
        return tuple(c for c in self.components if c.required)

    def component(self, code: str) -> Component | None:
        return next((c for c in self.components if c.code == code), None)


def _channel_key(key: str) -> None:
    if key != "default" and key not in {c.value for c in Channel}:
        msg = f"Khóa '{key}' không phải kênh nộp (direct, online, postal, default)."
        raise ValueError(msg)


def nominal_hours(limit: TimeLimit, hours_per_day: float) -> float:
    """Working hours a workflow must fill for ``limit``."""
    match limit.unit:
        case LimitUnit.SAME_DAY:
            return hours_per_day
        case LimitUnit.WORKING_HOURS:
            return limit.amount
        case LimitUnit.WORKING_DAYS | LimitUnit.CALENDAR_DAYS:
            return limit.amount * hours_per_day


def workflow_problems(procedure: Procedure, hours_per_day: float) -> list[str]:
    """Vietnamese descriptions of workflows that do not add up to their limit
    (each pair of limit and workflow a channel uses is checked once)."""
    pairs: dict[tuple[str, str], None] = {("default", "default"): None}
    for channel in procedure.channels:
        key: str = channel.value
        limit_key = key if key in procedure.time_limits else "default"
        flow_key = key if key in procedure.workflows else "default"
        pairs[(limit_key, flow_key)] = None
    problems: list[str] = []
    for limit_key, flow_key in pairs:
        limit = TimeLimit.parse(procedure.time_limits[limit_key])
        total = sum(step.hours for step in procedure.workflows[flow_key])
        expected = nominal_hours(limit, hours_per_day)
        if abs(total - expected) > 1e-6:
            problems.append(
                f"Quy trình nội bộ ({flow_key}) có tổng {total:g} giờ làm việc, "
                f"khác thời hạn {limit} ({limit_key}, {expected:g} giờ)."
            )
    return problems


class Catalogue(_Model):
    """Fields and procedures, as loaded from the repository's data file."""

    fields: tuple[FieldOfProcedures, ...]
    procedures: tuple[Procedure, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        codes = [p.code for p in self.procedures]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            msg = f"Mã thủ tục trùng: {', '.join(duplicates)}."
            raise ValueError(msg)
        field_codes = {f.code for f in self.fields}
        unknown = sorted({p.field_code for p in self.procedures} - field_codes)
        if unknown:
            msg = f"Lĩnh vực chưa khai báo: {', '.join(unknown)}."
            raise ValueError(msg)
        return self

    def field(self, code: str) -> FieldOfProcedures | None:
        return next((f for f in self.fields if f.code == code), None)

    def check(self, hours_per_day: float = DEFAULT_HOURS_PER_DAY) -> None:
        """Refuse the catalogue if any workflow misses its legal limit."""
        problems = [
            f"{p.code}: {problem}"
            for p in self.procedures
            for problem in workflow_problems(p, hours_per_day)
        ]
        if problems:
            raise CatalogueError(problems)


class CatalogueError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_catalogue(data: dict[str, Any]) -> Catalogue:
    return Catalogue.model_validate(
        {
            "fields": data.get("fields", []),
            "procedures": data.get("procedures", []),
        }
    )


def default_catalogue_path() -> Path:
    return Path(str(resources.files("motcua.intake") / "data" / "catalogue.toml"))


@dataclass(frozen=True)
class PublishedProcedure:
    """One published version of a procedure (intake's database keeps them all)."""

    procedure: Procedure
    version: int
    source: str
    published_by: str
    published_at: datetime


@cache
def load_catalogue(
    path: Path | None = None, hours_per_day: float = DEFAULT_HOURS_PER_DAY
) -> Catalogue:
    """The catalogue shipped in the repository (or the file given), checked."""
    source = path or default_catalogue_path()
    catalogue = parse_catalogue(tomllib.loads(source.read_text(encoding="utf-8")))
    catalogue.check(hours_per_day)
    return catalogue
