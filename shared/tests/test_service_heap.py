"""A service's own process leaves its start-up heap out of the cyclic
collector's full passes (their pauses stopped the event loop for up to a
second: the tail of a dossier's latency); a test process does not."""

from __future__ import annotations

import gc
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn

from motcua.shared import service
from motcua.shared.settings import ServiceSettings


def test_freeze_heap_moves_the_live_objects_out_of_the_collectors_reach() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        service.freeze_heap()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_only_serve_asks_a_runtime_to_freeze_its_heap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: ran.append(app))
    monkeypatch.setattr(service, "configure_logging", lambda *_, **__: None)
    runtime = SimpleNamespace(
        settings=ServiceSettings(), freeze_heap_when_connected=False
    )
    app = SimpleNamespace(state=SimpleNamespace(runtime=runtime))
    service.serve(app)  # type: ignore[arg-type]
    assert ran == [app]
    assert runtime.freeze_heap_when_connected is True
