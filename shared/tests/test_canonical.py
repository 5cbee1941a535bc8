"""The canonical bytes a signature covers stay exactly RFC 8785: the fast
encoder (:func:`motcua.shared.signing.canonical.jcs`) against the reference
implementation (``rfc8785``) on any JSON value; and a signature is checked
once per process, forgeries never."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st
from joserfc.jwk import ECKey

from motcua.shared.signing import jws
from motcua.shared.signing.canonical import (
    NotAnEventError,
    jcs,
    parse_json,
    signed_body,
    split_body,
)

# keys and strings over every code point, lone surrogates included, with the
# characters where the two key orders (code point, UTF-16) part weighted in
_TRICKY = st.sampled_from(
    [
        "\ue000",
        "\uffff",
        "\U0001f600",
        "\U00010000",
        "\ud800",
        "\x00",
        "\x1f",
        "\x7f",
        '"',
        "\\",
        "\u2028",
        "ệ",
        "a",
        "é",
    ]
)
_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=_TRICKY, max_size=6),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.integers(),  # beyond 2**53 - 1 the reference refuses, and so must we
    st.floats(),  # NaN and infinities: refused too
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e21, 1e-7, 1.5e300, 5e-324, 100.0, 2.0**53]),
    _TEXT,
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(_TEXT, inner, max_size=6),
    ),
    max_leaves=30,
)


def _reference(value: Any) -> bytes | type[BaseException]:
    try:
        return rfc8785.dumps(value)
    except Exception as exc:
        return type(exc)


def _fast(value: Any) -> bytes | type[BaseException]:
    try:
        return jcs(value)
    except Exception as exc:
        return type(exc)


@settings(max_examples=600, deadline=None)
@given(JSON_VALUES)
@example({"\ue000": 1, "\U0001f600": 2})  # code point order != UTF-16 order
@example({"a": 1.0, "b": [1e21, 1e-7, -0.0]})
@example({"a": [8.0, 2.5], "b": {"c": 0.0, "d": "x:1.0,"}, "e": [1e15, -3.0]})
@example({"n": 2**53, "m": -(2**53), "k": 9007199254740991})
@example({"s": '\x00\x1f\x7f"\\\b\f\n\r\t\u2028', "ệ": "Nguyễn"})
@example({"lone": "\ud800"})
@example([1, "10:30.5", {"x": "[1.5", "at": "2026-12-06T10:13:36.123456+07:00"}])
@example({'a":': 1.5, 'b\\"': 2.5e-7, "c": [{"d": 1e300}]})
def test_jcs_is_byte_for_byte_the_reference(value: Any) -> None:
    assert _fast(value) == _reference(value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_TEXT, JSON_VALUES, max_size=8))
def test_jcs_of_parsed_json_is_the_reference(value: dict[str, Any]) -> None:
    """What consumers canonicalise: a record body as ``json.loads`` gives it."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        parsed = json.loads(text)
    except ValueError:
        return
    assert _fast(parsed) == _reference(parsed)


@pytest.fixture(scope="module")
def key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


def test_a_signature_is_checked_once_per_process_and_forgeries_never_pass(
    key: ECKey,
) -> None:
    public = jws.public_key(key.as_dict(private=False))
    signature = jws.sign_detached(b"one", "kid-1", key)
    jws.VERIFIED.clear()
    jws.verify_detached(signature, b"one", public)
    assert (public.x, public.y, signature) in {k[:3] for k in jws.VERIFIED._seen}
    jws.verify_detached(signature, b"one", public)  # remembered
    with pytest.raises(jws.SignatureError):
        jws.verify_detached(signature, b"two", public)  # other bytes
    other = jws.public_key(
        ECKey.generate_key("P-256", private=True).as_dict(private=False)
    )
    with pytest.raises(jws.SignatureError):
        jws.verify_detached(signature, b"one", other)  # another key
    header, _, sig = signature.partition("..")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    with pytest.raises(jws.SignatureError):
        jws.verify_detached(f"{header}..{flipped}", b"one", public)
    crit = base64.urlsafe_b64encode(
        b'{"alg":"ES256","kid":"kid-1","crit":["b64"],"b64":false}'
    ).rstrip(b"=")
    with pytest.raises(jws.SignatureError):
        jws.verify_detached(f"{crit.decode()}..{sig}", b"one", public)


def test_events_as_services_write_them_take_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Timestamps with fractions of a second, codes with dots, Vietnamese text:
    none of it needs the reference implementation."""
    event = {
        "event_id": "0f63168c-ab2a-4651-b195-8f7a30ed5b2a",
        "occurred_at": "2026-12-06T10:13:36.123456+07:00",
        "dossier_code": "000.01.31.H14-261206-0001",
        "schema_version": 2,
        "chain": {"prev": ["ab" * 32], "seq": 12},
        "data": {"procedure_name": "Cấp Phiếu lý lịch tư pháp", "steps": [1, 2]},
        "imported": False,
        "agency_code": None,
    }
    expected = rfc8785.dumps(event)

    def refuse(_value: Any) -> bytes:
        raise AssertionError("the reference implementation was asked")

    monkeypatch.setattr(rfc8785, "dumps", refuse)
    assert jcs(event) == expected


def test_floats_written_without_an_exponent_take_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Routing's hand-offs carry each step's hours as floats (``8.0``); an
    integral float is written as its integer, any other as ``repr`` writes
    it, as RFC 8785 does, without the reference implementation."""
    event = {
        "data": {
            "steps": [
                {"hours": 8.0, "step_no": 1},
                {"hours": 2.5, "step_no": 2},
                {"hours": -0.0, "step_no": 3},
            ],
            "ratio": [0.0001, 123456789012345.0, -17.25, 0.0],
        },
        "occurred_at": "2026-12-06T10:13:36.000000+07:00",
        "note": 'a string ":8.0," that only looks like a number',
    }
    expected = rfc8785.dumps(event)
    assert b'"hours":8,' in expected
    assert b'"hours":0,' in expected

    def refuse(_value: Any) -> bytes:
        raise AssertionError("the reference implementation was asked")

    monkeypatch.setattr(rfc8785, "dumps", refuse)
    assert jcs(event) == expected


@settings(max_examples=600, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.floats(min_value=-1e17, max_value=1e17),
            st.integers(min_value=-(2**54), max_value=2**54).map(float),
            st.sampled_from([1e-4, 9.999999999999999e-5, 1e16, 9999999999999998.0]),
        ),
        max_size=6,
    ),
    _TEXT,
)
def test_floats_near_every_boundary_are_the_reference(
    floats: list[float], text: str
) -> None:
    """Around where ``repr`` switches to an exponent (1e-4, 1e16), integral
    floats on either side of 2**53, beside strings that look like numbers."""
    value = {"f": floats, text: [text, *floats], "g": {"h": floats[:1]}}
    assert _fast(value) == _reference(value)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_bodies_parsed_for_canonical_bytes_keep_their_rfc_8785_bytes(
    value: Any,
) -> None:
    """:func:`parse_json` reads ``8.0`` as ``8``: the canonical bytes of what it
    reads are those of what ``json.loads`` reads, byte for byte."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return
    assert _fast(parse_json(text)) == _reference(json.loads(text))


def test_integral_numbers_come_back_as_int_and_others_as_written() -> None:
    parsed = parse_json('{"h": 8.0, "z": -0.0, "x": 2.5, "big": 1e20, "n": 7}')
    assert parsed == {"h": 8, "z": 0, "x": 2.5, "big": 1e20, "n": 7}
    assert [type(parsed[k]) for k in ("h", "z", "x", "big")] == [int, int, float, float]


def test_a_signed_body_is_its_canonical_bytes_and_the_signature() -> None:
    envelope = {"data": {"hours": 8.0, "name": "Nguyễn"}, "event_type": "x", "seq": 2}
    canonical = jcs(envelope)
    body = signed_body(canonical, "eyJhbGciOiJFUzI1NiJ9..c2ln")
    split = split_body(body)
    assert split.canonical == canonical
    assert split.signature == "eyJhbGciOiJFUzI1NiJ9..c2ln"
    assert split.envelope == {**envelope, "signature": "eyJhbGciOiJFUzI1NiJ9..c2ln"}
    with pytest.raises(NotAnEventError):
        signed_body(b"{}", "s")
