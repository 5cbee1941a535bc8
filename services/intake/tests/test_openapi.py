"""The OpenAPI document describes every endpoint with examples, and a bounded
schemathesis run against the ASGI app finds no server error."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from intake_support import intake_settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans

from motcua.intake.app import create_app
from motcua.intake.settings import IntakeSettings
from motcua.shared.auth import Role
from motcua.shared.settings import CommonSettings
from motcua.shared.testing.databases import sqlite_url
from motcua.shared.testing.helpers import bearer
from motcua.shared.testing.offline import NO_BROKER

pytestmark = [
    # schemathesis' own strategies trip this hypothesis deprecation
    pytest.mark.filterwarnings(
        "ignore::hypothesis.errors.HypothesisDeprecationWarning"
    ),
]

STAFF = bearer("*", Role.DESK_OFFICER, Role.ADMIN, Role.OPERATOR)


# The document comes from an app that is built but never started (building
# connects to nothing); the requests go to a started app in the fixture below.
# (schemathesis' `from_fixture` does not run on pytest 9.)
DOCUMENT = create_app(
    IntakeSettings(common=CommonSettings(data_dir=Path(tempfile.gettempdir())))
).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """Started by schemathesis on its first request, in its own event loop
    thread, without a broker (nothing here depends on one); stopped after
    this module so it does not linger in the session."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        intake_settings(
            sqlite_url(folder), NO_BROKER, folder, f"intake-{uuid.uuid4().hex[:8]}"
        )
    )
    app.state.runtime.connect_broker = False
    yield app
    shutdown_lifespans()


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_the_service_fail(
    case: schemathesis.Case, fuzzed_app: FastAPI
) -> None:
    if case.path == "/readyz":  # 503 is its documented answer while the broker joins
        status = case.call(app=fuzzed_app).status_code
        assert status < 500 or status == 503
        return
    case.call_and_validate(app=fuzzed_app, headers=STAFF, checks=[not_a_server_error])


def test_every_operation_has_a_summary_and_an_example() -> None:
    document = DOCUMENT
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not path.startswith("/api/"):
                continue
            text = str(operation)
            has_example = "example" in text or _response_has_example(
                document, operation
            )
            if not operation.get("summary") or not has_example:
                missing.append(f"{method.upper()} {path}")
    assert not missing


def _response_has_example(document: dict, operation: dict) -> bool:
    for response in operation.get("responses", {}).values():
        schema_ref = (
            response.get("content", {}).get("application/json", {}).get("schema", {})
        )
        schema_ref = schema_ref.get("items", schema_ref)
        name = str(schema_ref.get("$ref", "")).rsplit("/", 1)[-1]
        component = document.get("components", {}).get("schemas", {}).get(name, {})
        if "examples" in component or "example" in component:
            return True
    return False
