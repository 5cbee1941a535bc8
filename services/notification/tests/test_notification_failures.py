"""Retries with backoff, fallback to the next channel, dead letters an
operator can retry, and a provider outage (the circuit opens, notices wait,
none is lost): real broker, real HTTP, real SMTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from notification_factories import AGENCY, dossier_code, email, phone, received
from notification_support import (
    NotificationTopic,
    Simulators,
    publish,
    running_notification,
)

from motcua.shared.auth import Role
from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.testing.helpers import bearer, read_metric, wait_for

pytestmark = [pytest.mark.broker]


async def _events_until(
    topic: NotificationTopic, code: str, event_type: str, count: int = 1
) -> list[Any]:
    async def probe() -> list[Any]:
        events = await topic.events(code)
        return (
            events if sum(e.event_type == event_type for e in events) >= count else []
        )

    return await wait_for(probe, timeout_s=30, message=f"{count} x {event_type}")


async def test_temporary_failures_are_retried_with_growing_backoff(
    database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    await simulators.control("sms", fail_next=3)
    code, number = dossier_code(), phone()
    settings = make_settings(
        database_url, retry_base_delay_s=0.1, circuit_failure_threshold=10
    )
    async with running_notification(settings) as service:
        await publish(
            service.kafka,
            received(code, phone_number=number, channels=[NotificationChannel.SMS]),
        )
        events = await _events_until(
            NotificationTopic(service.kafka), code, "notification.delivered"
        )
        retried = await read_metric(
            service.client,
            "motcua_notification_sends_total",
            channel="sms",
            outcome="temporary",
        )
        listed = (
            await service.client.get(
                "/api/v1/notifications",
                params={"dossier_code": code},
                headers=bearer(AGENCY, Role.DESK_OFFICER),
            )
        ).json()
    messages = [m for m in await simulators.sms_messages() if m["to"] == number]
    assert len(messages) == 1
    assert retried == 3
    # the retries are the notice's own business (ADR 0017): its row shows
    # them, the topic only the outcome (the delays: the domain tests)
    assert [e.event_type for e in events] == ["notification.delivered"]
    [notice] = listed["items"]
    assert (notice["state"], notice["attempt"]) == ("delivered", 4)
    assert "503" in notice["last_error"]
    [done] = [e.data for e in events if e.event_type == "notification.delivered"]
    assert done.attempt == 4


async def test_refused_sms_falls_back_to_email_then_dead_letter_and_operator_retry(
    database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    code, number, address = dossier_code(), phone(), email()
    await simulators.control("sms", reject=[number])
    await simulators.control("smtp", reject=[address])
    event = received(
        code,
        phone_number=number,
        email_address=address,
        channels=[NotificationChannel.SMS],
    )
    settings = make_settings(database_url, fallback_order=["sms", "email"])
    async with running_notification(settings) as service:
        await publish(service.kafka, event)
        topic = NotificationTopic(service.kafka)
        events = await _events_until(topic, code, "notification.dead_lettered")
        permanent = [
            e.data for e in events if e.event_type == "notification.permanent_failure"
        ]
        assert [(p.channel, p.fallback_channel) for p in permanent] == [
            (NotificationChannel.SMS, NotificationChannel.EMAIL),
            (NotificationChannel.EMAIL, None),
        ]
        operator = bearer("*", Role.OPERATOR)
        dead = (
            await service.client.get(
                "/api/v1/notifications/dead-letters", headers=operator
            )
        ).json()
        [notice] = [n for n in dead["items"] if n["dossier_code"] == code]
        assert notice["channel"] == "email"
        assert notice["state"] == "dead-lettered"

        await simulators.control("smtp", reject=[])  # the mailbox is fixed
        officer = bearer(AGENCY, Role.DESK_OFFICER)
        refused = await service.client.post(
            f"/api/v1/notifications/{notice['id']}/retry", headers=officer
        )
        assert refused.status_code == 403
        retried = await service.client.post(
            f"/api/v1/notifications/{notice['id']}/retry", headers=operator
        )
        assert retried.status_code == 200, retried.text
        await _events_until(topic, code, "notification.delivered")
        again = await service.client.post(
            f"/api/v1/notifications/{notice['id']}/retry", headers=operator
        )
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "notice_not_dead_lettered"
    assert [m for m in await simulators.sms_messages() if m["to"] == number] == []
    mails = [m for m in await simulators.mails() if address in m["to"]]
    assert len(mails) == 1


async def test_outage_opens_the_circuit_and_every_notice_waits_until_it_ends(
    database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    await simulators.control("sms", outage=True)
    numbers = [phone() for _ in range(12)]
    codes = [dossier_code() for _ in numbers]
    settings = make_settings(
        database_url,
        circuit_failure_threshold=3,
        circuit_reset_s=0.3,
        max_attempts=3,
        worker_batch_size=2,
    )
    async with running_notification(settings) as service:
        await publish(
            service.kafka,
            *(
                received(c, phone_number=n, channels=[NotificationChannel.SMS])
                for c, n in zip(codes, numbers, strict=True)
            ),
        )
        operator = bearer("*", Role.OPERATOR)

        async def circuit_open() -> bool:
            body = (
                await service.client.get(
                    "/api/v1/notifications/providers", headers=operator
                )
            ).json()
            return body["circuits"]["sms"] in ("open", "half-open")

        await wait_for(circuit_open, message="SMS circuit open")

        async def circuit_gauge() -> bool:  # what the circuit alert fires on
            gauge = await read_metric(
                service.client, "motcua_notification_circuit_open", channel="sms"
            )
            return gauge == 1.0

        await wait_for(circuit_gauge, message="SMS circuit gauge at 1")
        assert (
            await read_metric(
                service.client, "motcua_notification_circuit_open", channel="email"
            )
            == 0.0
        )
        # while it is open the gateway sees only the trial calls, and no notice
        # runs out of attempts (none falls back, none is dead-lettered)
        requests_during_outage = (
            await simulators.client.post(f"{simulators.sms}/api/control", json={})
        ).json()["requests"]
        assert requests_during_outage < 3 * len(numbers)
        await simulators.control("sms", outage=False)

        async def all_sent() -> list[Any]:
            sent = [m for m in await simulators.sms_messages() if m["to"] in numbers]
            return sent if len(sent) == len(numbers) else []

        sent = await wait_for(
            all_sent, timeout_s=30, message="every SMS after the outage"
        )
        topic = NotificationTopic(service.kafka)
        for code in codes:
            events = await _events_until(topic, code, "notification.delivered")
            assert not [
                e
                for e in events
                if e.event_type
                in ("notification.dead_lettered", "notification.permanent_failure")
            ]
    assert sorted(m["to"] for m in sent) == sorted(numbers)  # none lost, none twice


async def test_an_sms_too_long_to_send_fails_clearly_and_falls_back_to_email(
    sqlite_database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    code, number, address = dossier_code(), phone(), email()
    first = received(
        code,
        phone_number=number,
        email_address=address,
        channels=[NotificationChannel.SMS],
    )
    # with diacritics (UCS-2, 70 characters a part) even the short variant of
    # the receipt SMS needs two parts, and only one is allowed
    settings = make_settings(
        sqlite_database_url, sms_unaccented=False, sms_max_segments=1
    )
    async with running_notification(settings) as service:
        await publish(service.kafka, first)
        events = await _events_until(
            NotificationTopic(service.kafka), code, "notification.delivered"
        )
    [too_long] = [
        e.data for e in events if e.event_type == "notification.permanent_failure"
    ]
    assert too_long.channel == NotificationChannel.SMS
    assert too_long.fallback_channel == NotificationChannel.EMAIL
    assert too_long.detail == "Tin nhắn cần 2 phần, vượt giới hạn 1 phần."
    [delivered] = [e.data for e in events if e.event_type == "notification.delivered"]
    assert delivered.channel == NotificationChannel.EMAIL
    mails = [m for m in await simulators.mails() if address in m["to"]]
    assert [m["subject"] for m in mails] == [f"Hồ sơ {code} đã được tiếp nhận"]
    assert [m for m in await simulators.sms_messages() if m["to"] == number] == []


async def test_a_notice_whose_message_cannot_be_made_fails_alone(
    sqlite_database_url: str,
    make_settings: Callable[..., Any],
    simulators: Simulators,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The email's attachment is rendered when it is sent: a template that
    fails on one dossier's data fails that notice, not every round."""
    broken, fine = dossier_code(), dossier_code()
    addresses = {broken: email(), fine: email()}
    settings = make_settings(sqlite_database_url)
    async with running_notification(settings) as service:
        renderer = service.app.state.worker.policy.renderer
        render = renderer.attachment

        def attachment(template: str, context: dict[str, Any]) -> Any:
            if context.get("dossier_code") == broken:
                raise ValueError("the template met data it cannot render")
            return render(template, context)

        monkeypatch.setattr(renderer, "attachment", attachment)
        for code in (broken, fine):
            await publish(
                service.kafka,
                received(
                    code,
                    email_address=addresses[code],
                    channels=[NotificationChannel.EMAIL],
                ),
            )
        topic = NotificationTopic(service.kafka)
        failed = await _events_until(topic, broken, "notification.permanent_failure")
        await _events_until(topic, fine, "notification.delivered")
    [failure] = [
        e.data for e in failed if e.event_type == "notification.permanent_failure"
    ]
    assert failure.detail == "Không tạo được nội dung gửi (lỗi mẫu thông báo)"
    mails = await simulators.mails()
    assert [m for m in mails if addresses[broken] in m["to"]] == []
    assert [m for m in mails if addresses[fine] in m["to"]] != []
