"""Value types used across event contracts (national codes where they exist)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Channel(StrEnum):
    """How the dossier reached the state (KenhThucHien 1/2/3)."""

    DIRECT = "direct"
    ONLINE = "online"
    POSTAL = "postal"


class AgencyLevel(StrEnum):
    """Administrative level of an agency; ``district`` exists only before 1/7/2025."""

    COMMUNE = "commune"
    DISTRICT = "district"
    PROVINCE = "province"
    CENTRAL = "central"


class ApplicantKind(StrEnum):
    """LoaiDoiTuong: 1 citizen, 2 organisation."""

    CITIZEN = "citizen"
    ORGANISATION = "organisation"


class ResultDelivery(StrEnum):
    """Where the citizen receives the result."""

    DESK = "desk"
    POST = "post"
    ELECTRONIC = "electronic"


class FiledBy(StrEnum):
    """Who entered the dossier."""

    DESK_OFFICER = "desk_officer"
    ONLINE_PORTAL = "online_portal"
    HELPER = "helper"


class NotificationChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    POST = "post"


class DossierStatus(IntEnum):
    """National dossier status codes (TrangThaiHoSo).

    "Overdue" is not a status: it is derived from the due time.
    """

    SUBMITTED = 1  # Mới đăng ký
    RECEIVED = 2  # Được tiếp nhận
    REFUSED = 3  # Không được tiếp nhận
    IN_PROGRESS = 4  # Đang xử lý
    AWAITING_SUPPLEMENT = 5  # Yêu cầu bổ sung
    AWAITING_FEE = 6  # Yêu cầu thực hiện nghĩa vụ tài chính
    WITHDRAWN = 7  # Công dân yêu cầu rút hồ sơ
    STOPPED = 8  # Dừng xử lý
    RESOLVED = 9  # Đã xử lý xong
    RESULT_DELIVERED = 10  # Đã trả kết quả

    @property
    def label_vi(self) -> str:
        return _STATUS_LABELS_VI[self]


_STATUS_LABELS_VI: dict[DossierStatus, str] = {
    DossierStatus.SUBMITTED: "Mới đăng ký",
    DossierStatus.RECEIVED: "Được tiếp nhận",
    DossierStatus.REFUSED: "Không được tiếp nhận",
    DossierStatus.IN_PROGRESS: "Đang xử lý",
    DossierStatus.AWAITING_SUPPLEMENT: "Yêu cầu bổ sung",
    DossierStatus.AWAITING_FEE: "Yêu cầu thực hiện nghĩa vụ tài chính",
    DossierStatus.WITHDRAWN: "Công dân yêu cầu rút hồ sơ",
    DossierStatus.STOPPED: "Dừng xử lý",
    DossierStatus.RESOLVED: "Đã xử lý xong",
    DossierStatus.RESULT_DELIVERED: "Đã trả kết quả",
}
