"""Two instances of the portal service on one PostgreSQL database (scale-out):
only one sends the queue and only one reads the portal's filings, so each
dossier's record and steps reach the portal once and in order."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from portal_factories import dossier_code
from portal_support import Sim, client_for, settings_for
from test_mapping import STEP_STATUSES, walkthrough

from motcua.portal.app import create_app
from motcua.portal.reconciliation import reconcile
from motcua.portal.sender import Sender
from motcua.shared.testing.offline import OfflineService, offline


@pytest.mark.postgres
async def test_two_instances_send_each_dossier_once_and_in_order(
    postgres_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(postgres_database_url, tmp_path)
    portal = Sim(settings)
    codes = [dossier_code() for _ in range(3)]
    async with AsyncExitStack() as stack:
        services: list[OfflineService] = []
        for _ in range(2):  # one after the other: each migrates on start
            app = create_app(settings)
            client = client_for(settings, portal.app)
            stack.push_async_callback(client.aclose)
            app.state.sender.client = client
            app.state.poller.client = client
            app.state.client = client
            services.append(await stack.enter_async_context(offline(app)))
        first, second = services
        await first.feed(*walkthrough(codes[0]), *walkthrough(codes[1]))
        await second.feed(*walkthrough(codes[2]))
        senders: list[Sender] = [s.app.state.sender for s in services]
        calls = [0, 0]  # each sender's calls to the portal
        for n, sender in enumerate(senders):
            monkeypatch.setattr(sender.client, "call", _counted(sender, calls, n))

        async def sync(sender: Sender) -> None:
            for _ in range(50):
                await sender.round()
                await asyncio.sleep(0)

        await asyncio.gather(*(sync(s) for s in senders))
        assert sorted(calls)[0] == 0, calls  # one of them never sent
        assert sorted(calls)[1] > 0, calls
        for code in codes:
            assert [s["TrangThai"] for s in await portal.steps(code)] == STEP_STATUSES
            held = await portal.dossier(code)
            assert held is not None
            assert held["dossier"]["TrangThaiHoSo"] == 10
        report = await reconcile(first.runtime.sessions, first.app.state.client)
        assert report.as_dict()["differences"] == 0
        pollers = [s.app.state.poller for s in services]
        leading = [await p.leadership.acquire() for p in pollers]
        assert sorted(leading) == [False, True]

        # the leader gone (its lock released with its connection), the other
        # instance sends what comes next
        leader = senders[0] if calls[0] else senders[1]
        other = senders[1] if leader is senders[0] else senders[0]
        await leader.aclose()
        assert await other.leadership.acquire()
    await portal.http.aclose()


def _counted(sender: Sender, calls: list[int], n: int) -> Any:
    """``sender``'s client's ``call``, counting into ``calls[n]``."""
    call = sender.client.call

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls[n] += 1
        return await call(*args, **kwargs)

    return counting
