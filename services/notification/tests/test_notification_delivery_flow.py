"""Receiving a dossier sends an SMS and an email, once, over the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from notification_factories import dossier_code, email, phone, received
from notification_support import (
    NotificationTopic,
    Simulators,
    publish,
    running_notification,
)

from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.testing.helpers import wait_for

pytestmark = [pytest.mark.broker]


async def test_received_dossier_gets_one_sms_and_one_email_with_receipt(
    database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    code, number, address = dossier_code(), phone(), email()
    event = received(code, phone_number=number, email_address=address)
    async with running_notification(make_settings(database_url)) as service:
        await publish(service.kafka, event, event)  # a redelivered duplicate

        async def sms() -> list[dict[str, Any]]:
            return [m for m in await simulators.sms_messages() if m["to"] == number]

        async def mail() -> list[dict[str, Any]]:
            return [m for m in await simulators.mails() if address in m["to"]]

        [message] = await wait_for(sms, message="SMS at the gateway")
        [letter] = await wait_for(mail, message="email in the mailbox")
        topic = NotificationTopic(service.kafka)

        async def delivered() -> list[Any]:
            events = await topic.events(code)
            done = [e for e in events if e.event_type == "notification.delivered"]
            return events if len(done) == 2 else []

        events = await wait_for(delivered, message="two delivered events")
    assert message["text"] == (
        f"Ho so {code} (Dang ky khai sinh) da duoc tiep nhan. Ngay hen tra: "
        f"{event.data.due_at:%d/%m/%Y}."
    )
    assert message["encoding"] == "gsm7"
    assert message["segments"] == 1
    assert letter["subject"] == f"Hồ sơ {code} đã được tiếp nhận"
    assert "Kính gửi Nguyễn Thị Ánh" in letter["text"]
    assert "Đăng ký khai sinh" in letter["text"]
    [attachment] = letter["attachments"]
    assert attachment["filename"] == f"giay-tiep-nhan-{code}.html"
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in attachment["content"]
    assert len(await sms()) == 1
    assert len(await mail()) == 1
    # only outcomes leave (ADR 0017): the notices' steps stay in their rows
    assert sorted(e.event_type for e in events) == ["notification.delivered"] * 2
    assert sorted(e.data.channel.value for e in events) == ["email", "sms"]
    assert {e.causation_id for e in events} == {event.event_id}
    for e in events:  # no personal data in events meant for reporting
        body = e.model_dump_json()
        assert number not in body
        assert address not in body


async def test_a_slow_email_does_not_hold_back_the_next_dossiers_sms(
    database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    """The worker claims new notices while an earlier round's sends are still
    in flight: the second dossier's SMS goes out while the first's email is
    stuck in its SMTP call (once the round waited for its slowest call)."""
    first, second = dossier_code(), dossier_code()
    numbers = {first: phone(), second: phone()}
    addresses = {first: email(), second: email()}
    async with running_notification(make_settings(database_url)) as service:
        smtp = service.worker.providers.by_channel[NotificationChannel.EMAIL]
        release = asyncio.Event()

        class HeldEmail:
            """The SMTP provider, its calls held until released."""

            name = smtp.name
            channel = smtp.channel

            async def send(self, message: Any) -> Any:
                await release.wait()
                return await smtp.send(message)

            async def aclose(self) -> None:
                await smtp.aclose()

        service.worker.providers.by_channel[NotificationChannel.EMAIL] = HeldEmail()

        async def sms_to(code: str) -> list[dict[str, Any]]:
            return [
                m for m in await simulators.sms_messages() if m["to"] == numbers[code]
            ]

        await publish(
            service.kafka,
            received(
                first, phone_number=numbers[first], email_address=addresses[first]
            ),
        )
        await wait_for(lambda: sms_to(first), message="the first dossier's SMS")
        await publish(
            service.kafka,
            received(
                second, phone_number=numbers[second], email_address=addresses[second]
            ),
        )
        await wait_for(lambda: sms_to(second), message="the second dossier's SMS")
        assert not release.is_set()
        assert not [m for m in await simulators.mails() if addresses[first] in m["to"]]
        release.set()

        async def both_mails() -> list[dict[str, Any]]:
            mails = await simulators.mails()
            return [m for m in mails for a in addresses.values() if a in m["to"]]

        mails = await wait_for(
            lambda: _when_two(both_mails), message="both emails once released"
        )
    assert len(mails) == 2


async def _when_two(
    probe: Callable[[], Any],
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await probe()
    return found if len(found) == 2 else []
