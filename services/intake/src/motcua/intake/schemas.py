"""Request and response bodies of the intake API (with OpenAPI examples)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from motcua.intake.applicants import (
    check_id_number,
    check_tax_code,
    normalise_email,
    normalise_phone,
)
from motcua.intake.domain import Outcome
from motcua.shared.contracts.common import (
    ApplicantKind,
    Channel,
    NotificationChannel,
    ResultDelivery,
)
from motcua.shared.contracts.envelope import VN_TZ

AGENCY_CODE_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"
PROCEDURE_CODE_PATTERN = r"^\d\.\d{6}(\.\d{2})?$"
DOSSIER_CODE_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}$"

APPLICANT_EXAMPLE: dict[str, Any] = {
    "kind": "citizen",
    "full_name": "Nguyễn Thị Lan",
    "id_number": "001190012345",
    "phone": "0912 345 678",
    "email": "lan.nguyen@example.vn",
    "address": "Thôn 3, xã Kim Long, tỉnh Mẫu",
}


class Contact(BaseModel):
    """Phone and email, normalised (E.164 phones) or refused in Vietnamese."""

    phone: str | None = Field(
        default=None,
        max_length=20,
        description="Vietnamese mobile or landline, any usual format; stored as "
        "E.164 (+84…).",
    )
    email: str | None = Field(default=None, max_length=254)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise_phone(value) if value else None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalise_email(value) if value else None


class PersonIn(Contact):
    """An applicant (chủ hồ sơ) or authorised representative (người được ủy quyền)."""

    model_config = ConfigDict(json_schema_extra={"examples": [APPLICANT_EXAMPLE]})

    kind: ApplicantKind = ApplicantKind.CITIZEN
    full_name: str = Field(min_length=1, max_length=200)
    id_number: str = Field(
        max_length=20,
        description="Citizen: the 12-digit personal ID (số định danh cá nhân); "
        "organisation: its tax code.",
    )
    address: str | None = Field(default=None, max_length=500)

    @field_validator("full_name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            msg = "Họ và tên không được để trống."
            raise ValueError(msg)
        return value

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind") is ApplicantKind.ORGANISATION:
            return check_tax_code(value)
        return check_id_number(value)


class PostalAddressIn(BaseModel):
    """Where the post returns the result."""

    receiver_name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)
    phone: str = Field(max_length=20)
    province_code: str | None = Field(default=None, max_length=16)
    province_name: str | None = Field(default=None, max_length=200)
    commune_code: str | None = Field(default=None, max_length=16)
    commune_name: str | None = Field(default=None, max_length=200)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)


class ComponentIn(BaseModel):
    """A submitted document, by its code in the procedure."""

    code: str = Field(min_length=1, max_length=64, examples=["to_khai"])
    copies: int | None = Field(default=None, ge=1, le=50)
    original: bool | None = None


class ReceptionFields(BaseModel):
    """What every reception carries, whoever files it (desk, helper, portal)."""

    procedure_code: str = Field(
        pattern=PROCEDURE_CODE_PATTERN, examples=["1.001193"], max_length=16
    )
    receiving_agency_code: str = Field(
        pattern=AGENCY_CODE_PATTERN, examples=["000.01.31.H14"], max_length=16
    )
    channel: Channel = Channel.DIRECT
    applicant: PersonIn
    representative: PersonIn | None = None
    summary: str = Field(
        default="", max_length=1000, description="Trích yếu: what is asked for."
    )
    components: list[ComponentIn] | None = Field(
        default=None,
        max_length=50,
        description="Submitted documents; omitted: every required component of "
        "the procedure, as the officer checked them.",
    )
    result_delivery: ResultDelivery = ResultDelivery.DESK
    postal_address: PostalAddressIn | None = Field(
        default=None, description="Required when `result_delivery` is `post`."
    )
    notify_channels: list[NotificationChannel] | None = Field(
        default=None,
        description="Omitted: SMS and email when the applicant gave them, post "
        "when the result goes by post.",
    )


class DossierIn(ReceptionFields):
    """What the desk officer (or the portal, or a helper) enters."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "procedure_code": "1.001193",
                    "receiving_agency_code": "000.01.31.H14",
                    "channel": "direct",
                    "applicant": APPLICANT_EXAMPLE,
                    "components": [{"code": "to_khai"}, {"code": "giay_chung_sinh"}],
                    "result_delivery": "desk",
                },
                {
                    "procedure_code": "2.000488",
                    "receiving_agency_code": "000.01.31.H14",
                    "channel": "direct",
                    "applicant": APPLICANT_EXAMPLE,
                    "outcome": "completion_requested",
                    "missing_components": ["ban_chup_giay_to"],
                    "instructions": "Bổ sung bản chụp căn cước.",
                },
            ]
        }
    )

    outcome: Outcome = Field(
        default=Outcome.RECEIVED,
        description="`received` (form 01), `completion_requested` (form 02) or "
        "`refused` (form 03).",
    )
    reasons: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Refusal reasons (form 03).",
    )
    missing_components: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Form 02: component codes (or free text) to add or complete.",
    )
    instructions: str = Field(default="", max_length=2000)


class PortalFilingIn(ReceptionFields):
    """A citizen's filing on the national portal, as the portal service hands
    it to intake (mapped to motcua's fields). It keeps the portal's code (ADR
    0015) and is always an online filing."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "dossier_code": "000.01.31.H14-261206-5001",
                    "submitted_at": "2026-12-06T09:12:00+07:00",
                    "procedure_code": "1.001193",
                    "receiving_agency_code": "000.01.31.H14",
                    "applicant": APPLICANT_EXAMPLE,
                    "components": [{"code": "to_khai"}, {"code": "giay_chung_sinh"}],
                    "result_delivery": "desk",
                }
            ]
        }
    )

    dossier_code: str = Field(
        pattern=DOSSIER_CODE_PATTERN,
        max_length=40,
        description="The portal's code (MaHoSo), `<agency e-ID>-<yyMMdd>-<NNNN>`; "
        "the dossier keeps it in motcua.",
        examples=["000.01.31.H14-261206-5001"],
    )
    submitted_at: AwareDatetime = Field(
        description="When the citizen submitted on the portal (NgayNopHoSo)."
    )
    channel: Literal[Channel.ONLINE] = Field(
        default=Channel.ONLINE, description="Always `online`."
    )

    @field_validator("submitted_at")
    @classmethod
    def _in_vietnam_time(cls, value: datetime) -> datetime:
        # one spelling per instant: the filing's digest must not depend on it
        return value.astimezone(VN_TZ)

    def as_dossier(self) -> DossierIn:
        """The reception the desk would have entered for this filing."""
        fields = {name: getattr(self, name) for name in ReceptionFields.model_fields}
        return DossierIn.model_construct(**fields)


class FormLinks(BaseModel):
    html: str
    pdf: str


class DossierOut(BaseModel):
    """The dossier's code, status and appointment."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "000.01.31.H14-260302-0001",
                    "status": 2,
                    "status_label": "Được tiếp nhận",
                    "outcome": "received",
                    "procedure_code": "1.001193",
                    "procedure_name": "Thủ tục đăng ký khai sinh",
                    "procedure_version": 1,
                    "receiving_agency_code": "000.01.31.H14",
                    "channel": "direct",
                    "received_at": "2026-03-02T10:00:00+07:00",
                    "clock_started_at": "2026-03-02T10:00:00+07:00",
                    "due_at": "2026-03-02T17:00:00+07:00",
                    "time_limit": "same-day",
                    "form": {
                        "html": "/api/v1/dossiers/000.01.31.H14-260302-0001/forms/01?sig=…",
                        "pdf": "/api/v1/dossiers/000.01.31.H14-260302-0001/forms/01?format=pdf&sig=…",
                    },
                }
            ]
        }
    )

    code: str
    status: int
    status_label: str
    outcome: Outcome
    procedure_code: str
    procedure_name: str
    procedure_version: int | None
    receiving_agency_code: str
    channel: Channel
    received_at: AwareDatetime
    clock_started_at: AwareDatetime | None
    due_at: AwareDatetime | None
    time_limit: str | None
    form: FormLinks | None = Field(
        default=None,
        description="Signed links to the printable form (01, 02 or 03), valid "
        "for a limited time; no bearer token needed.",
    )


class DossierDetail(DossierOut):
    """Everything the desk recorded (personal data: officers only)."""

    applicant: dict[str, Any]
    details: dict[str, Any]
    supplement_requested: list[str] | None
    filed_by: str
    imported: bool


class DossierList(BaseModel):
    items: list[DossierOut]


class SupplementIn(BaseModel):
    """The components an agency asked for, now delivered."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"components": [{"code": "to_khai"}], "note": "Nộp tại quầy"}]
        }
    )

    components: list[ComponentIn] = Field(min_length=1, max_length=50)
    note: str = Field(default="", max_length=1000)


class SupplementOut(BaseModel):
    code: str
    status: int
    status_label: str
    received_at: AwareDatetime


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Công dân không còn nhu cầu"}]}
    )

    reason: str = Field(default="", max_length=1000)


class WithdrawalOut(BaseModel):
    code: str
    status: int
    status_label: str
    withdrawn_at: AwareDatetime


class DueDateOut(BaseModel):
    """The appointment a dossier received at ``received_at`` would get."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "received_at": "2026-03-02T10:00:00+07:00",
                    "clock_started_at": "2026-03-02T10:00:00+07:00",
                    "due_at": "2026-03-05T10:00:00+07:00",
                    "limit": "3wd",
                    "working_hours": 24,
                    "procedure_code": None,
                    "channel": None,
                }
            ]
        }
    )

    received_at: AwareDatetime
    clock_started_at: AwareDatetime
    due_at: AwareDatetime
    limit: str
    working_hours: float
    procedure_code: str | None = None
    channel: Channel | None = None
