"""Discovery of the installed services (entry point group ``motcua.services``)."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from motcua.shared.service import ServiceDefinition

ORDER = ("intake", "routing", "notification", "reporting", "portal")


def installed_services() -> list[ServiceDefinition]:
    found = {ep.name: ep.load() for ep in entry_points(group="motcua.services")}
    ordered = [found.pop(name) for name in ORDER if name in found]
    return ordered + [found[name] for name in sorted(found)]


def load_object(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)
