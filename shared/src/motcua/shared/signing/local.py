"""Opening the keystore a process signs and verifies with."""

from __future__ import annotations

from pathlib import Path

from motcua.shared.domain.agencies import AgencyRegistry, load_registry
from motcua.shared.settings import CommonSettings, SigningSettings
from motcua.shared.signing.keystore import (
    FileKeystore,
    KeyMaterial,
    KeystoreError,
    province_of,
    registry_agencies,
)


def keystore_folder(common: CommonSettings, signing: SigningSettings) -> Path:
    return signing.folder(common.data_dir)


def ensure_keystore(
    common: CommonSettings,
    signing: SigningSettings,
    registry: AgencyRegistry | None = None,
) -> tuple[FileKeystore, bool]:
    """The keystore; in development and test it is created on first use (one
    key per agency of the registry). Returns it and whether it was created."""
    store = FileKeystore(keystore_folder(common, signing))
    if store.exists():
        return store, False
    if common.environment == "production":
        msg = (
            f"no keystore at {store.folder}: set MOTCUA_SIGNING_KEYSTORE to the "
            "province's keys (production keys are never generated)"
        )
        raise KeystoreError(msg)
    registry = registry or load_registry()
    created = store.init(registry_agencies(registry), province=province_of(registry))
    return store, created


def key_material(common: CommonSettings, signing: SigningSettings) -> KeyMaterial:
    store, _ = ensure_keystore(common, signing)
    return KeyMaterial(store)
