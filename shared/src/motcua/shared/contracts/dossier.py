"""Events of a dossier's reception, produced by intake on ``motcua.dossier.events``."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from motcua.shared.contracts.common import (
    AgencyLevel,
    ApplicantKind,
    Channel,
    DossierStatus,
    FiledBy,
    NotificationChannel,
    ResultDelivery,
)
from motcua.shared.contracts.envelope import EventData
from motcua.shared.contracts.topics import DOSSIER_EVENTS


class DossierEventData(EventData):
    """Base of every event on ``motcua.dossier.events``."""

    TOPIC = DOSSIER_EVENTS


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=2000)


ServiceName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$", max_length=32)
]
SealedBlock = Annotated[str, StringConstraints(max_length=16_384)]
SealedPersonalData = Annotated[
    dict[ServiceName, SealedBlock],
    Field(
        max_length=16,
        description="The people of the dossier, sealed per entitled service: "
        "service name → JWE (RFC 7516 compact, `dir`/`A256GCM`) only that service "
        "can open (ADR 0007, `motcua.shared.personal_data`).",
    ),
]
"""What carries a dossier's people on the shared topic: never in clear."""


class Person(_Part):
    """An applicant or representative. Personal data: never logged, and on a
    topic only inside :data:`SealedPersonalData`."""

    kind: ApplicantKind = ApplicantKind.CITIZEN
    full_name: str
    id_number: str | None = Field(
        default=None, description="12-digit personal ID (CCCD), or tax code."
    )
    phone: str | None = None
    email: str | None = None
    address: str | None = None


class PostalAddress(_Part):
    """Where the post returns the result (QĐ 45/2016)."""

    receiver_name: str
    address: str
    phone: str
    province_code: str | None = None
    province_name: str | None = None
    commune_code: str | None = None
    commune_name: str | None = None


class PersonalData(BaseModel):
    """The people of a dossier as intake collected them: what
    :data:`SealedPersonalData` carries, sealed (never on a topic in clear; see
    :mod:`motcua.shared.personal_data`). What a service opens has the fields it
    is not entitled to set to ``None``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    applicant: Person | None = None
    representative: Person | None = None
    postal_address: PostalAddress | None = None
    id_digest: str | None = Field(
        default=None,
        description="HMAC-SHA256 (lookup key) of the applicant's normalised ID "
        "number, hex: what the public lookup compares.",
    )


class SubmittedComponent(_Part):
    """One document of the dossier (thành phần hồ sơ)."""

    code: str
    name: str
    original: bool = False
    copies: int = 1


class WorkflowStep(_Part):
    """A step of the procedure's internal workflow (quy trình nội bộ)."""

    step_no: int = Field(ge=1)
    role: str = Field(
        description="Who holds the step: `receiving_desk` (the agency that received "
        "the dossier), `competent_agency`, or `specialist:<agency type>` (e.g. "
        "`specialist:police`), resolved by routing with the agency registry."
    )
    name: str = ""
    hours: float = Field(ge=0, description="Allotted working hours.")


class DossierSubmittedV1(DossierEventData):
    """Filed online and waiting for an officer to accept it (status 1)."""

    EVENT_TYPE = "dossier.submitted"

    procedure_code: str
    receiving_agency_code: str
    channel: Channel = Channel.ONLINE
    status: DossierStatus = DossierStatus.SUBMITTED


class DossierReceivedV2(DossierEventData):
    """Accepted as complete and valid: the legal clock starts (status 2).

    Version 2: who the applicant and the representative are and where the post
    returns the result travel only in ``personal_data``, sealed per entitled
    service (version 1 carried them in clear and is retired, ADR 0007).
    """

    EVENT_TYPE = "dossier.received"
    SCHEMA_VERSION = 2

    procedure_code: str = Field(max_length=16)
    procedure_name: str
    procedure_version: int | None = Field(
        default=None,
        description="Version of the catalogue entry the dossier was received under.",
    )
    field_code: str | None = None
    field_name: str | None = None
    procedure_level: AgencyLevel = AgencyLevel.COMMUNE
    inter_agency: bool = False
    competent_agency_type: str | None = Field(
        default=None,
        description="Agency type competent to decide (see motcua.shared.domain."
        "agencies), resolved by routing near the receiving agency.",
    )
    competent_agency_code: str | None = Field(
        default=None, description="Set when intake already knows the competent agency."
    )
    channel: Channel
    receiving_agency_code: str = Field(max_length=16)
    received_at: AwareDatetime
    clock_started_at: AwareDatetime | None = Field(
        default=None, description="First working instant at or after receipt."
    )
    due_at: AwareDatetime | None = Field(
        default=None, description="Appointment (ngày hẹn trả); none if unlimited."
    )
    time_limit: str | None = Field(
        default=None, description="Legal limit as `3wd`, `5h` or `same-day`."
    )
    status: DossierStatus = DossierStatus.RECEIVED
    personal_data: SealedPersonalData
    result_delivery: ResultDelivery = ResultDelivery.DESK
    filed_by: FiledBy = FiledBy.DESK_OFFICER
    components: list[SubmittedComponent] = Field(default_factory=list, max_length=200)
    workflow: list[WorkflowStep] = Field(default_factory=list, max_length=50)
    notify_channels: list[NotificationChannel] = Field(
        default_factory=lambda: [NotificationChannel.SMS, NotificationChannel.EMAIL],
        max_length=3,
    )
    fee_vnd: int = Field(default=0, ge=0)


class DossierRefusedV2(DossierEventData):
    """Refused at intake, form 03 (status 3). Version 2: the applicant travels
    sealed in ``personal_data`` (ADR 0007)."""

    EVENT_TYPE = "dossier.refused"
    SCHEMA_VERSION = 2

    procedure_code: str = Field(max_length=16)
    receiving_agency_code: str = Field(max_length=16)
    channel: Channel
    reasons: list[str] = Field(max_length=50)
    status: DossierStatus = DossierStatus.REFUSED
    personal_data: SealedPersonalData


class DossierCompletionRequestedV2(DossierEventData):
    """Incomplete at intake: the applicant got form 02 listing what to complete.
    Version 2: the applicant travels sealed in ``personal_data`` (ADR 0007)."""

    EVENT_TYPE = "dossier.completion_requested"
    SCHEMA_VERSION = 2

    procedure_code: str = Field(max_length=16)
    receiving_agency_code: str = Field(max_length=16)
    channel: Channel
    missing_components: list[str] = Field(max_length=200)
    instructions: str = ""
    personal_data: SealedPersonalData


class DossierSupplementReceivedV1(DossierEventData):
    """The components an agency asked for have arrived; the clock resumes."""

    EVENT_TYPE = "dossier.supplement_received"

    received_at: AwareDatetime
    components: list[SubmittedComponent] = Field(default_factory=list)
    note: str = ""


class DossierWithdrawnV1(DossierEventData):
    """Withdrawn at the citizen's request (status 7)."""

    EVENT_TYPE = "dossier.withdrawn"

    reason: str = ""
    status: DossierStatus = DossierStatus.WITHDRAWN


class DossierRatedV1(DossierEventData):
    """A citizen rated how the dossier was handled (1-5); produced by reporting."""

    EVENT_TYPE = "dossier.rated"

    score: int = Field(ge=1, le=5)
    comment: str = ""


class DossierLegacySealedV1(DossierEventData):
    """The province vouches for a dossier's unsigned legacy events (history from
    before signing, or imported): their digests, as they stand now, signed into
    the chain (``motcua keys seal-legacy``; ADR 0012). Changes no status."""

    EVENT_TYPE = "dossier.legacy_sealed"

    legacy_events: list[str] = Field(
        description="SHA-256 digests of the unsigned events this seal covers."
    )
    note: str = ""
