"""``motcua keys`` and ``motcua verify bundle`` as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from signing_support import CODE, Writer, walkthrough

from motcua.shared.signing.bundle import make_bundle
from motcua.shared.signing.keystore import FileKeystore, KeyMaterial


def motcua(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("motcua")), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {
        k: v for k, v in os.environ.items() if k != "MOTCUA_SIGNING_KEYSTORE"
    }
    environment.update(MOTCUA_DATA_DIR=str(tmp_path), COLUMNS="200")
    return environment


def test_keys_init_list_rotate_and_a_bundle_checked_offline(
    tmp_path: Path, env: dict[str, str]
) -> None:
    created = motcua("keys", "init", env=env)
    assert created.returncode == 0, created.stderr
    assert "Created" in created.stdout
    again = motcua("keys", "init", env=env)
    assert "Already there" in again.stdout

    store = FileKeystore(tmp_path / "keys")
    writer = walkthrough(Writer(KeyMaterial(store)), datetime.now(UTC))
    bundle_path = tmp_path / "bundle.json"
    bundle = make_bundle(
        CODE, writer.bodies, store.keyring(), exported_at=datetime.now(UTC)
    )
    bundle_path.write_text(json.dumps(bundle, ensure_ascii=False))

    rotated = motcua("keys", "rotate", "--agency", "000.00.05.H14", env=env)
    assert rotated.returncode == 0, rotated.stderr
    listed = motcua("keys", "list", "--agency", "000.00.05.H14", env=env)
    assert "retiring" in listed.stdout
    assert "current" in listed.stdout

    checked = motcua("verify", "bundle", str(bundle_path), env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "intact" in checked.stdout
    # against the published JWKS after the rotation: the old keys are still there
    trusted = motcua(
        "verify", "bundle", str(bundle_path), "--jwks", str(store.jwks_path), env=env
    )
    assert trusted.returncode == 0, trusted.stdout

    bundle["events"][3]["data"]["step_no"] = 9
    bundle_path.write_text(json.dumps(bundle, ensure_ascii=False))
    broken = motcua("verify", "bundle", str(bundle_path), "--json", env=env)
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert report["events"][3]["status"] == "signature_invalid"
    assert "missing before #5" in report["events"][4]["detail"]


def test_keys_rotate_names_unknown_agencies(env: dict[str, str]) -> None:
    result = motcua("keys", "rotate", "--agency", "000.99.99.H14", env=env)
    assert result.returncode == 2
    assert "000.99.99.H14" in result.stdout


async def test_checkpoints_check_names_an_edit_anywhere_in_a_stored_history(
    tmp_path: Path,
) -> None:
    from signing_support import Writer, walkthrough

    from motcua.shared.cli.verify import HistoryStore, _chains_of
    from motcua.shared.domain.agencies import load_registry
    from motcua.shared.signing.keystore import province_of, registry_agencies

    registry = load_registry()
    store = FileKeystore(tmp_path / "keys")
    store.init(registry_agencies(registry), province=province_of(registry))
    writer = walkthrough(Writer(KeyMaterial(store)), datetime.now(UTC))
    edited = list(writer.bodies)
    edited[1] = edited[1].replace(b"000.00.05.H14", b"000.00.20.H14")  # not a head

    async def history(code: str) -> list[bytes]:
        return edited if code == CODE else []

    async def digests() -> dict[str, set[str]]:
        return {}

    problems = await _chains_of(
        [HistoryStore("routing", history, digests)],
        {CODE: set(writer.state.heads)},
        store.keyring(),
    )
    assert problems == [
        f"routing: dossier {CODE}: #2 dossier.routed signature_invalid: "
        "signature does not verify: BadSignatureError"
    ]
