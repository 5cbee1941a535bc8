"""Pure rules: SMS text, segments, backoff, fallback, circuit, templates,
signatures, masking. Milliseconds, no fixtures."""

from __future__ import annotations

import pytest

from motcua.notification.domain.circuit import CircuitBreaker, CircuitState
from motcua.notification.domain.delivery import (
    Fallback,
    FallbackKind,
    NoticeState,
    RetryPolicy,
    backoff_delay,
    choose_fallback,
    should_retry,
)
from motcua.notification.domain.rules import (
    RESULT_RETURN_TEMPLATE,
    Contact,
    PlannedNotice,
    mask_destination,
    notice_recipient_role,
    plan_notices,
)
from motcua.notification.domain.sms import (
    SmsEncoding,
    SmsTooLongError,
    measure,
    prepare_sms,
    strip_diacritics,
)
from motcua.notification.rendering import TemplateRenderer, vnd
from motcua.notification.signing import sign, verify
from motcua.notification.worker import _by_capacity
from motcua.shared.contracts.common import NotificationChannel as C
from motcua.shared.contracts.common import ResultDelivery

# -- SMS ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vietnamese", "plain"),
    [
        ("Hồ sơ đã được tiếp nhận", "Ho so da duoc tiep nhan"),
        ("ĐĂNG KÝ KHAI SINH", "DANG KY KHAI SINH"),
        ("Phường Hai Bà Trưng, Hà Nội", "Phuong Hai Ba Trung, Ha Noi"),
        ("Ngày hẹn trả: 05/01/2026", "Ngay hen tra: 05/01/2026"),
        (
            "ắằẳẵặ ấầẩẫậ ếềểễệ ốồổỗộ ớờởỡợ ứừửữự ỳýỷỹỵ",
            "aaaaa aaaaa eeeee ooooo ooooo uuuuu yyyyy",
        ),
    ],
)
def test_vietnamese_loses_its_diacritics_and_nothing_else(
    vietnamese: str, plain: str
) -> None:
    assert strip_diacritics(vietnamese) == plain


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", SmsEncoding.GSM7, 0, 0),
        ("a" * 160, SmsEncoding.GSM7, 160, 1),
        ("a" * 161, SmsEncoding.GSM7, 161, 2),
        ("a" * 306, SmsEncoding.GSM7, 306, 2),
        ("a" * 307, SmsEncoding.GSM7, 307, 3),
        ("[" * 80, SmsEncoding.GSM7, 160, 1),  # extension table: two septets each
        ("a" * 152 + "€" + "a" * 10, SmsEncoding.GSM7, 164, 2),  # escape pair not split
        ("a" * 152 + "€" + "a" * 153, SmsEncoding.GSM7, 307, 3),
        ("ồ" * 70, SmsEncoding.UCS2, 70, 1),
        ("ồ" * 71, SmsEncoding.UCS2, 71, 2),
        ("ồ" * 134, SmsEncoding.UCS2, 134, 2),
        ("ồ" * 135, SmsEncoding.UCS2, 135, 3),
        ("😀" * 35, SmsEncoding.UCS2, 70, 1),  # surrogate pairs count twice
    ],
)
def test_segments_follow_gsm7_and_ucs2_limits(
    text: str, encoding: SmsEncoding, units: int, segments: int
) -> None:
    measured = measure(text)
    assert (measured.encoding, measured.units, measured.segments) == (
        encoding,
        units,
        segments,
    )


def test_unaccented_sms_is_gsm7_and_accented_costs_more_parts() -> None:
    text = "Hồ sơ 000.00.12.H14-260105-0001 (Đăng ký khai sinh) đã được tiếp nhận. Ngày hẹn trả: 08/01/2026."
    plain = prepare_sms(text, unaccented=True, max_segments=3)
    accented = prepare_sms(text, unaccented=False, max_segments=3)
    assert plain.encoding == SmsEncoding.GSM7
    assert plain.segments == 1
    assert accented.encoding == SmsEncoding.UCS2
    assert accented.segments == 2


def test_a_too_long_sms_is_refused_not_cut() -> None:
    with pytest.raises(SmsTooLongError, match="vượt giới hạn 1 phần") as error:
        prepare_sms("x" * 161, unaccented=True, max_segments=1)
    assert error.value.segments == 2


# -- templates ---------------------------------------------------------------

CONTEXT = {
    "dossier_code": "000.00.12.H14-260105-0001",
    "procedure_name": "Đăng ký khai sinh",
    "agency_code": "000.00.12.H14",
    "full_name": "Trần Văn Đức",
    "received_at": "2026-01-05T09:30:00+07:00",
    "due_at": "2026-01-08T16:00:00+07:00",
    "components": ["Tờ khai"],
    "postal_return": True,
    "postal_address": "Số 5 ngõ 12 phố Huế, Phường Hai Bà Trưng, Hà Nội",
}


def test_email_renders_vietnamese_with_the_receipt_attached() -> None:
    rendered = TemplateRenderer(sms_unaccented=True, sms_max_segments=3).render(
        "dossier.received", C.EMAIL, CONTEXT
    )
    assert rendered.subject == "Hồ sơ 000.00.12.H14-260105-0001 đã được tiếp nhận"
    assert "Kính gửi Trần Văn Đức" in rendered.text
    assert "tiếp nhận lúc 09:30 ngày 05/01/2026" in rendered.text
    assert "Ngày hẹn trả kết quả: 16:00 ngày 08/01/2026" in rendered.text
    assert "bưu điện trả đến địa chỉ" in rendered.text
    assert rendered.attachment is not None
    assert "<strong>000.00.12.H14-260105-0001</strong>" in rendered.attachment.content


def test_html_attachment_escapes_what_the_applicant_typed() -> None:
    rendered = TemplateRenderer(sms_unaccented=True, sms_max_segments=3).render(
        "dossier.received", C.EMAIL, {**CONTEXT, "full_name": "<script>x</script>"}
    )
    assert rendered.attachment is not None
    assert "<script>" not in rendered.attachment.content
    assert "&lt;script&gt;" in rendered.attachment.content


def test_result_sms_says_the_post_brings_it() -> None:
    rendered = TemplateRenderer(sms_unaccented=True, sms_max_segments=3).render(
        "dossier.result_recorded",
        C.SMS,
        {**CONTEXT, "resolved_at": CONTEXT["due_at"], "result_summary": ""},
    )
    assert rendered.text == (
        "Ho so 000.00.12.H14-260105-0001 da duoc xu ly xong. "
        "Buu dien se tra ket qua den dia chi ong/ba da dang ky."
    )


def test_a_long_sms_uses_the_short_variant_then_fails_clearly() -> None:
    long_name = "Thủ tục " * 60
    renderer = TemplateRenderer(sms_unaccented=True, sms_max_segments=1)
    rendered = renderer.render(
        "dossier.received", C.SMS, {**CONTEXT, "procedure_name": long_name}
    )
    assert rendered.sms is not None
    assert rendered.sms.segments == 1
    assert "Thu tuc" not in rendered.text  # the short variant leaves the name out
    reasons = {**CONTEXT, "reasons": ["Thiếu giấy tờ " * 30]}
    strict = TemplateRenderer(sms_unaccented=True, sms_max_segments=1)
    assert strict.render("dossier.refused", C.SMS, reasons).sms is not None
    with pytest.raises(SmsTooLongError):
        TemplateRenderer(sms_unaccented=False, sms_max_segments=1).render(
            "dossier.apology_issued",
            C.SMS,
            {**CONTEXT, "new_due_at": CONTEXT["due_at"], "dossier_code": "Đ" * 80},
        )


def test_money_is_written_the_vietnamese_way() -> None:
    assert vnd(1250000) == "1.250.000 đồng"


# -- rules -------------------------------------------------------------------


def test_plans_follow_the_applicant_channels_and_postal_return() -> None:
    reach = frozenset({C.SMS, C.EMAIL, C.POST})
    assert plan_notices(
        "dossier.received",
        chosen=[C.SMS],
        reachable=reach,
        result_delivery=ResultDelivery.POST,
        has_postal_address=True,
    ) == [PlannedNotice(C.SMS, "dossier.received")]
    assert plan_notices(
        "dossier.result_recorded",
        chosen=[C.SMS, C.EMAIL],
        reachable=frozenset({C.EMAIL}),
        result_delivery=ResultDelivery.POST,
        has_postal_address=True,
    ) == [
        PlannedNotice(C.EMAIL, "dossier.result_recorded"),
        PlannedNotice(C.POST, RESULT_RETURN_TEMPLATE),
    ]
    assert (
        plan_notices(
            "dossier.routed",
            chosen=[C.SMS],
            reachable=reach,
            result_delivery=ResultDelivery.DESK,
            has_postal_address=False,
        )
        == []
    )


def test_the_representative_is_told_when_reachable() -> None:
    applicant = Contact("A", phone="0912000001")
    assert (
        notice_recipient_role(applicant, Contact("B", email="b@example.vn"))
        == "representative"
    )
    assert notice_recipient_role(applicant, Contact("B", address="x")) == "applicant"
    assert notice_recipient_role(None, None) is None


def test_destinations_are_masked_for_officers() -> None:
    assert mask_destination(C.SMS, "0912345678") == "*******678"
    assert mask_destination(C.EMAIL, "nguyen.van.a@example.vn") == "n***@example.vn"


# -- retries and fallback ------------------------------------------------------


def test_backoff_doubles_is_capped_and_jittered_down() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay_s=2, max_delay_s=20, jitter=0.5)
    assert [backoff_delay(a, policy, 0.0) for a in range(1, 6)] == [2, 4, 8, 16, 20]
    assert backoff_delay(3, policy, 0.999) == pytest.approx(4.004)
    assert should_retry(4, policy)
    assert not should_retry(5, policy)


ORDER = (C.SMS, C.EMAIL, C.POST)


@pytest.mark.parametrize(
    ("failed", "reachable", "existing", "expected"),
    [
        (C.SMS, {C.SMS, C.EMAIL, C.POST}, {}, Fallback(FallbackKind.NEXT, C.EMAIL)),
        (C.SMS, {C.SMS, C.POST}, {}, Fallback(FallbackKind.NEXT, C.POST)),
        (
            C.SMS,
            {C.SMS, C.EMAIL},
            {C.EMAIL: NoticeState.SENDING},
            Fallback(FallbackKind.COVERED, C.EMAIL),
        ),
        (
            C.SMS,
            {C.SMS, C.EMAIL, C.POST},
            {C.EMAIL: NoticeState.DEAD_LETTERED},
            Fallback(FallbackKind.NEXT, C.POST),
        ),
        (
            C.EMAIL,
            {C.SMS, C.EMAIL},
            {C.SMS: NoticeState.DELIVERED},
            Fallback(FallbackKind.NONE),
        ),
        (C.POST, {C.SMS, C.EMAIL, C.POST}, {}, Fallback(FallbackKind.NONE)),
    ],
)
def test_fallback_takes_the_next_reachable_channel(
    failed: C, reachable: set[C], existing: dict[C, NoticeState], expected: Fallback
) -> None:
    assert choose_fallback(ORDER, failed, frozenset(reachable), existing) == expected


# -- circuit breaker --------------------------------------------------------------


def test_circuit_opens_after_failures_then_lets_one_trial_through() -> None:
    now = [0.0]
    breaker = CircuitBreaker(
        failure_threshold=3, reset_after_s=10, clock=lambda: now[0]
    )
    for _ in range(2):
        breaker.record_failure()
    assert breaker.capacity(50) == 50
    breaker.record_failure()
    assert breaker.state == CircuitState.OPEN
    assert breaker.capacity(50) == 0
    now[0] = 10.0
    assert breaker.state == CircuitState.HALF_OPEN
    assert breaker.capacity(50) == 1
    assert breaker.capacity(50) == 0
    breaker.record_failure()  # the trial failed: open again
    assert breaker.state == CircuitState.OPEN
    now[0] = 20.0
    assert breaker.capacity(5) == 1
    breaker.record_success()
    assert breaker.state == CircuitState.CLOSED
    assert breaker.capacity(5) == 5


def test_a_round_claims_once_for_the_closed_circuits_and_once_per_trial() -> None:
    assert _by_capacity({C.SMS: 50, C.EMAIL: 50, C.POST: 50}, 50) == [
        ([C.SMS, C.EMAIL, C.POST], 50)
    ]
    assert _by_capacity({C.SMS: 1, C.EMAIL: 50}, 50) == [([C.EMAIL], 50), ([C.SMS], 1)]
    assert _by_capacity({C.SMS: 1, C.POST: 1}, 50) == [([C.SMS], 1), ([C.POST], 1)]
    assert _by_capacity({}, 50) == []


# -- callback signatures -----------------------------------------------------------


def test_signatures_bind_secret_body_and_time() -> None:
    body = b'{"status":"delivered"}'
    headers = sign("s3cret", body, timestamp=1_700_000_000)
    ts, sig = headers["X-Motcua-Timestamp"], headers["X-Motcua-Signature"]
    assert verify("s3cret", body, ts, sig, now=1_700_000_100)
    assert not verify("other", body, ts, sig, now=1_700_000_100)
    assert not verify("s3cret", body + b" ", ts, sig, now=1_700_000_100)
    assert not verify("s3cret", body, ts, sig, now=1_700_000_000 + 301)
    assert not verify("s3cret", body, None, sig)
