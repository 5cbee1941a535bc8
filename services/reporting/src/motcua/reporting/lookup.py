"""Citizens' status lookup (tra cứu hồ sơ), pure.

The applicant's ID number never reaches reporting: intake seals its HMAC (the
lookup key of the personal-data key ring, ADR 0007) for reporting, the
projection keeps it, and a lookup compares HMACs in constant time.
What a citizen sees is the status, the appointment and the steps, with no
personal data and no officer names.
"""

from __future__ import annotations

import hmac

from motcua.reporting.facts import IdHasher


def id_matches(stored_hash: str | None, given: str, hash_id: IdHasher) -> bool:
    """Constant-time comparison; a dossier without a stored hash never matches."""
    computed = hash_id(given)
    return stored_hash is not None and hmac.compare_digest(stored_hash, computed)


PUBLIC_STEPS: dict[str, str] = {
    "dossier.submitted": "Đã nộp hồ sơ trực tuyến",
    "dossier.received": "Đã tiếp nhận hồ sơ",
    "dossier.refused": "Từ chối tiếp nhận hồ sơ",
    "dossier.completion_requested": "Yêu cầu hoàn thiện hồ sơ",
    "dossier.routed": "Đã xác định cơ quan giải quyết",
    "dossier.handoff_offered": "Chuyển hồ sơ đến cơ quan xử lý",
    "dossier.handoff_acknowledged": "Cơ quan xử lý đã nhận hồ sơ",
    "dossier.step_completed": "Hoàn thành một bước xử lý",
    "dossier.handoff_returned": "Hồ sơ được chuyển trả bước trước",
    "dossier.supplement_requested": "Yêu cầu bổ sung hồ sơ",
    "dossier.supplement_received": "Đã nhận hồ sơ bổ sung",
    "dossier.fee_requested": "Yêu cầu nộp phí, lệ phí",
    "dossier.fee_paid": "Đã nộp phí, lệ phí",
    "dossier.processing_resumed": "Tiếp tục xử lý",
    "dossier.processing_stopped": "Dừng xử lý",
    "dossier.apology_issued": "Xin lỗi và hẹn lại ngày trả kết quả",
    "dossier.result_recorded": "Đã có kết quả giải quyết",
    "dossier.result_delivered": "Đã trả kết quả",
    "dossier.withdrawn": "Đã rút hồ sơ",
}
"""Event types a citizen sees as steps, and how they read."""
