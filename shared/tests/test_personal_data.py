"""Personal data sealed per entitled service (ADR 0007): each service opens
exactly what it is entitled to, nothing opens for anyone else, a block cannot be
forged, moved to another dossier or read with an old key that was not given."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from motcua.shared.contracts.common import ApplicantKind
from motcua.shared.contracts.dossier import Person, PersonalData, PostalAddress
from motcua.shared.personal_data import (
    ENTITLEMENTS,
    MissingKeyError,
    NotEntitledError,
    PersonalDataAccess,
    PersonalDataKeys,
    PersonalDataSealer,
    SealBrokenError,
    ensure_dev_keys,
    load_keys,
    lookup_digest,
)
from motcua.shared.settings import CommonSettings

CODE = "000.01.31.H14-260302-0001"
PEOPLE = PersonalData(
    applicant=Person(
        full_name="Nguyễn Thị Lan",
        id_number="001190012345",
        phone="+84912345678",
        email="lan@example.vn",
        address="Thôn 3, xã Kim Long",
    ),
    representative=Person(
        kind=ApplicantKind.CITIZEN,
        full_name="Trần Văn Bình",
        id_number="001085004321",
        phone="+84987654321",
    ),
    postal_address=PostalAddress(
        receiver_name="Nguyễn Thị Lan",
        address="Thôn 3, xã Kim Long",
        phone="0912345678",
    ),
)
CLEAR = ("Nguyễn Thị Lan", "001190012345", "912345678", "lan@example.vn", "Kim Long")


@pytest.fixture(scope="module")
def keys() -> PersonalDataKeys:
    return PersonalDataKeys.generate()


def _only(keys: PersonalDataKeys, *names: str) -> PersonalDataKeys:
    """The key ring a deployment gives one service."""
    return PersonalDataKeys.from_jwks(
        {
            "keys": [
                k
                for k in keys.to_jwks()["keys"]
                if k["kid"].rpartition("-")[0] in names
            ]
        }
    )


def test_each_service_opens_what_it_is_entitled_to_and_no_more(
    keys: PersonalDataKeys,
) -> None:
    sealed = PersonalDataSealer(keys).seal(PEOPLE, dossier_code=CODE)
    assert set(sealed) == set(ENTITLEMENTS)
    assert not any(c in json.dumps(sealed, ensure_ascii=False) for c in CLEAR)

    portal = PersonalDataAccess("portal", _only(keys, "portal"))
    assert portal.open(sealed, dossier_code=CODE, purpose="dvcqg") == PEOPLE

    notification = PersonalDataAccess("notification", _only(keys, "notification"))
    seen = notification.open(sealed, dossier_code=CODE, purpose="notices")
    assert seen.applicant is not None
    assert seen.representative is not None
    assert seen.applicant.phone == "+84912345678"
    assert seen.applicant.email == "lan@example.vn"
    assert seen.postal_address == PEOPLE.postal_address
    assert seen.applicant.id_number is None
    assert seen.representative.id_number is None
    assert seen.id_digest is None

    reporting = PersonalDataAccess("reporting", _only(keys, "reporting", "lookup"))
    digest = reporting.open(sealed, dossier_code=CODE, purpose="lookup")
    assert digest == PersonalData(id_digest=digest.id_digest)
    assert digest.id_digest == reporting.lookup_digest("0011 9001 2345")
    assert digest.id_digest != reporting.lookup_digest("001190012346")


def test_a_service_without_an_entitlement_gets_a_clear_error(
    keys: PersonalDataKeys,
) -> None:
    with pytest.raises(NotEntitledError, match="'bench' is not entitled"):
        PersonalDataAccess("bench", keys)
    routing = PersonalDataAccess("routing", keys)  # proof of origin, no data
    sealed = PersonalDataSealer(keys).seal(PEOPLE, dossier_code=CODE)
    assert routing.open(sealed, dossier_code=CODE, purpose="origin") == PersonalData()
    notification = PersonalDataAccess("notification", keys)
    with pytest.raises(NotEntitledError):
        notification.lookup_digest("001190012345")
    with pytest.raises(MissingKeyError, match="no key for 'portal'"):
        PersonalDataAccess("portal", _only(keys, "notification"))


def test_a_block_does_not_open_for_another_service_dossier_or_forger(
    keys: PersonalDataKeys,
) -> None:
    sealed = PersonalDataSealer(keys).seal(PEOPLE, dossier_code=CODE)
    notification = PersonalDataAccess("notification", keys)
    other = "000.01.31.H14-260302-0002"
    with pytest.raises(SealBrokenError, match="another dossier"):
        notification.open(sealed, dossier_code=other, purpose="notices")
    # the portal's block under the notification's name: another key
    with pytest.raises(SealBrokenError, match="lacks"):
        notification.open(
            {"notification": sealed["portal"]}, dossier_code=CODE, purpose="notices"
        )
    # a forger who knows the format but not the key
    forger = PersonalDataSealer(PersonalDataKeys.generate())
    forged = forger.seal(PEOPLE, dossier_code=CODE)
    with pytest.raises(SealBrokenError, match="does not open"):
        notification.open(forged, dossier_code=CODE, purpose="notices")
    tampered = sealed["notification"][:-3] + "AAA"
    with pytest.raises(SealBrokenError):
        notification.open(
            {"notification": tampered}, dossier_code=CODE, purpose="notices"
        )
    with pytest.raises(SealBrokenError, match="no personal data sealed"):
        notification.open({}, dossier_code=CODE, purpose="notices")
    with pytest.raises(SealBrokenError):
        notification.open(
            {"notification": "not-a-jwe"}, dossier_code=CODE, purpose="notices"
        )


def test_rotation_seals_with_the_newest_key_and_opens_with_any(
    keys: PersonalDataKeys,
) -> None:
    old_block = PersonalDataSealer(keys).seal(PEOPLE, dossier_code=CODE)
    rotated = PersonalDataKeys.from_jwks(
        {
            "keys": [
                *keys.to_jwks()["keys"],
                *[
                    {**k, "kid": k["kid"].replace("-1", "-2")}
                    for k in PersonalDataKeys.generate().to_jwks()["keys"]
                ],
            ]
        }
    )
    new_block = PersonalDataSealer(rotated).seal(PEOPLE, dossier_code=CODE)
    assert '"kid":"notification-2"' in _header(new_block["notification"])
    notification = PersonalDataAccess("notification", rotated)
    for sealed in (old_block, new_block):
        assert notification.open(sealed, dossier_code=CODE, purpose="notices").applicant


def _header(token: str) -> str:
    import base64

    head = token.split(".")[0]
    return base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode()


def test_the_digest_is_a_keyed_hmac_of_the_normalised_number() -> None:
    key = b"k" * 32
    assert lookup_digest(key, " 001190012345 ") == lookup_digest(key, "001190012345")
    assert lookup_digest(key, "0101234567-001") == lookup_digest(key, "0101234567-001")
    assert lookup_digest(key, "001190012345") != lookup_digest(
        b"x" * 32, "001190012345"
    )
    assert len(lookup_digest(key, "001190012345")) == 64


def _make_keys(data_dir: str) -> str:
    keys = ensure_dev_keys(Path(data_dir))
    return json.dumps(keys.to_jwks(), sort_keys=True)


def test_the_development_key_ring_is_made_once_whoever_comes_first(
    tmp_path: Path,
) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        rings = pool.map(_make_keys, [str(tmp_path)] * 8)
    assert len(set(rings)) == 1
    path = tmp_path / "keys" / "personal-data.jwks.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    again = load_keys(CommonSettings(data_dir=tmp_path, personal_data_keys=None))
    assert json.dumps(again.to_jwks(), sort_keys=True) == rings[0]


def test_production_needs_keys_given_and_takes_them_from_settings(
    tmp_path: Path,
) -> None:
    with pytest.raises(MissingKeyError, match="must be set in production"):
        load_keys(
            CommonSettings(
                environment="production",
                data_dir=tmp_path,
                jwt_secret="a-real-secret-for-this-test",  # type: ignore[arg-type]
                personal_data_keys=None,
            )
        )
    ring = PersonalDataKeys.generate(["notification"])
    given = load_keys(
        CommonSettings(personal_data_keys=json.dumps(ring.to_jwks()))  # type: ignore[arg-type]
    )
    assert list(given.keys) == ["notification-1"]
    file = tmp_path / "ring.json"
    file.write_text(json.dumps(ring.to_jwks()))
    from_file = CommonSettings(personal_data_keys=None, personal_data_keys_file=file)
    assert list(load_keys(from_file).keys) == ["notification-1"]
    with pytest.raises(MissingKeyError, match="256-bit symmetric"):
        PersonalDataKeys.from_jwks(
            {"keys": [{"kty": "oct", "kid": "portal-1", "k": "AAAA"}]}
        )
    with pytest.raises(MissingKeyError, match="not <service>-<number>"):
        PersonalDataKeys.from_jwks(
            {"keys": [{**ring.to_jwks()["keys"][0], "kid": "x"}]}
        )


def test_each_deployment_is_given_only_its_share_of_the_key_ring(
    keys: PersonalDataKeys,
) -> None:
    from motcua.shared.personal_data import share_for

    def kids(service: str) -> list[str]:
        return sorted(share_for(keys, service).keys)

    assert kids("intake") == sorted(keys.keys)
    assert kids("notification") == ["notification-1"]
    assert kids("portal") == ["portal-1"]
    assert kids("reporting") == ["lookup-1", "reporting-1"]
    assert kids("routing") == ["routing-1"]
    assert kids("bench") == []
