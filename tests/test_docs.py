"""The API documents are generated from the code, current, and valid."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from motcua.shared.cli.docs import generate
from motcua.shared.contracts import registered_event_types
from motcua.shared.contracts.topics import DOSSIER_EVENTS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SERVICES = ("intake", "routing", "notification", "reporting", "portal")
ASYNCAPI_SCHEMA = json.loads(
    (ROOT / "tests" / "schemas" / "asyncapi-3.0.0.json").read_text()
)


def test_committed_documents_match_the_code() -> None:
    stale = generate(DOCS, check=True)
    assert stale == [], f"run `./motcua docs` and commit: {stale}"


@pytest.mark.parametrize("service", SERVICES)
def test_asyncapi_documents_follow_the_asyncapi_3_schema(service: str) -> None:
    document = json.loads((DOCS / "api" / f"{service}.asyncapi.json").read_text())
    errors = list(jsonschema.Draft7Validator(ASYNCAPI_SCHEMA).iter_errors(document))
    assert errors == [], [e.message for e in errors[:5]]


def test_the_asyncapi_checker_catches_a_broken_document() -> None:
    document = json.loads((DOCS / "api" / "routing.asyncapi.json").read_text())
    next(iter(document["operations"].values()))["action"] = (
        "publish"  # AsyncAPI 2 wording
    )
    assert list(jsonschema.Draft7Validator(ASYNCAPI_SCHEMA).iter_errors(document))


@pytest.mark.parametrize("service", SERVICES)
def test_openapi_documents_are_valid(service: str) -> None:
    validate(json.loads((DOCS / "api" / f"{service}.openapi.json").read_text()))


def test_consumers_document_every_dossier_event_type() -> None:
    document = json.loads((DOCS / "api" / "reporting.asyncapi.json").read_text())
    documented = set(document["channels"][DOSSIER_EVENTS]["messages"])
    expected = {
        f"{t}.v{v}"
        for (t, v), model in registered_event_types().items()
        if model.TOPIC == DOSSIER_EVENTS
    }
    assert documented == expected
