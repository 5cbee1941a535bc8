"""What the sender sends next, and what the portal's answers mean (pure)."""

from __future__ import annotations

from motcua.portal.mapping import ItemKind
from motcua.portal.outbound import (
    PARKED,
    PENDING,
    Call,
    Open,
    Verdict,
    backoff_s,
    judge,
    plan,
)

D, P = ItemKind.DOSSIER, ItemKind.PROGRESS


def item(
    i: int, code: str, kind: ItemKind, state: str = PENDING, due: bool = True
) -> Open:
    return Open(i, code, kind, state, due)


def test_a_dossiers_steps_wait_for_its_record() -> None:
    calls = plan(
        [item(1, "A", D), item(2, "A", P), item(3, "A", P)], set(), batch_size=50
    )
    assert calls == [Call(D, False, ((1,),))]


def test_records_and_step_runs_of_many_dossiers_go_in_few_calls() -> None:
    items = [
        item(1, "A", D),  # new on the portal
        item(2, "B", D),  # the portal has it: an update
        item(3, "C", P),
        item(4, "C", P),
        item(5, "C", D),  # behind C's steps: next round
        item(6, "E", P),
    ]
    calls = plan(items, {"B", "C", "E"}, batch_size=50)
    assert calls == [
        Call(D, False, ((1,),)),
        Call(D, True, ((2,),)),
        Call(P, False, ((3, 4), (6,))),
    ]


def test_a_dossier_waiting_for_a_retry_or_parked_sends_nothing() -> None:
    items = [
        item(1, "A", P, due=False),
        item(2, "A", P),
        item(3, "B", P, state=PARKED),
        item(4, "B", P),
        item(5, "C", P),
    ]
    assert plan(items, {"A", "B", "C"}, batch_size=50) == [Call(P, False, ((5,),))]


def test_a_run_never_spans_two_calls() -> None:
    items = [item(1, "A", P), item(2, "A", P), item(3, "B", P), item(4, "B", P)]
    calls = plan(items, {"A", "B"}, batch_size=3)
    assert [c.runs for c in calls] == [((1, 2),), ((3, 4),)]


def test_answers() -> None:
    one_record = Call(D, False, ((1,),))
    update = Call(D, True, ((1,),))
    steps = Call(P, False, ((1, 2),))
    assert judge("00", "", steps) is Verdict.ACKED
    assert judge("99", "Lỗi hệ thống", one_record) is Verdict.RETRY
    assert judge("02", "MaHoSo đã tồn tại", one_record) is Verdict.FLIP
    assert judge("04", "Không tìm thấy hồ sơ", update) is Verdict.FLIP
    assert judge("02", "NgayHenTra sai định dạng", one_record) is Verdict.PARK
    assert judge("02", "TrangThai sai", steps) is Verdict.SPLIT
    assert judge("03", "Chưa có hồ sơ", Call(P, False, ((1,),))) is Verdict.RETRY


def test_split_isolates_dossiers_then_items() -> None:
    call = Call(P, False, ((1, 2), (3,)))
    assert call.split() == [Call(P, False, ((1, 2),)), Call(P, False, ((3,),))]
    assert Call(P, False, ((1, 2),)).split() == [
        Call(P, False, ((1,),)),
        Call(P, False, ((2,),)),
    ]


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    delays = [backoff_s(n, base_s=1, cap_s=60, jitter=0.999) for n in range(1, 10)]
    assert delays[:4] == [x * 0.9995 for x in (1, 2, 4, 8)]
    assert max(delays) <= 60
    assert backoff_s(3, base_s=1, cap_s=60, jitter=0.0) == 2.0
