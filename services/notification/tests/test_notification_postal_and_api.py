"""Result return by post, cancellation, signed callbacks, the officers' query,
imported history and events that arrive before the dossier's contact data."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from notification_factories import (
    AGENCY,
    dossier_code,
    event,
    phone,
    received,
    result_recorded,
)
from notification_support import (
    NotificationTopic,
    Simulators,
    publish,
    running_notification,
)

from motcua.notification.signing import sign
from motcua.shared.auth import Role
from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.contracts.dossier import DossierWithdrawnV1
from motcua.shared.contracts.handoff import SupplementRequestedV1
from motcua.shared.testing.helpers import bearer, read_metric, wait_for

pytestmark = [pytest.mark.broker]


async def test_postal_return_places_an_order_with_a_pooled_waybill_and_reports_delivery(
    database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    code, number = dossier_code(), phone()
    first = received(
        code, phone_number=number, post=True, channels=[NotificationChannel.SMS]
    )
    settings = make_settings(database_url, metrics_sample_interval_s=0.2)
    async with running_notification(settings) as service:
        await publish(
            service.kafka,
            first,
            result_recorded(code, first),
            result_recorded(code, first),
        )

        async def orders() -> list[dict[str, Any]]:
            return [o for o in await simulators.orders() if o["order_number"] == code]

        await wait_for(orders, message="postal order at the operator")
        topic = NotificationTopic(service.kafka)

        async def delivered() -> list[Any]:
            events = await topic.events(code)
            statuses = [
                e.data.postal_status
                for e in events
                if e.event_type == "notification.postal_status_changed"
            ]
            return events if "delivered" in statuses else []

        events = await wait_for(
            delivered, timeout_s=30, message="postal delivered event"
        )
        listing = await service.client.get(
            "/api/v1/notifications",
            params={"dossier_code": code},
            headers=bearer(AGENCY, Role.DESK_OFFICER),
        )
        providers = await service.client.get(
            "/api/v1/notifications/providers", headers=bearer("*", Role.OPERATOR)
        )
        free = providers.json()["free_waybills"]

        async def pool_gauge() -> bool:  # the operator's alert reads this gauge
            gauge = await read_metric(
                service.client, "motcua_notification_waybills_free"
            )
            return gauge == free

        await wait_for(pool_gauge, message="waybill pool gauge")
    [
        order
    ] = await orders()  # two result events with different ids: one order per event id
    assert order["kind"] == "result_return"
    assert order["receiver_name"] == "Nguyễn Thị Ánh"
    assert "Hà Nội" in order["receiver_address"]
    [created] = [
        e.data for e in events if e.event_type == "notification.postal_order_created"
    ]
    assert created.waybill_code == order["item_code"]
    assert order["item_code"].startswith("EX")
    assert order["item_code"].endswith("VN")
    statuses = [
        e.data.postal_status
        for e in events
        if e.event_type == "notification.postal_status_changed"
    ]
    assert statuses == ["accepted", "delivered"]
    sms = [m for m in await simulators.sms_messages() if m["to"] == number]
    assert any("Buu dien se tra ket qua" in m["text"] for m in sms)
    assert listing.status_code == 200
    items = listing.json()["items"]
    post = [i for i in items if i["channel"] == "post"]
    assert post[0]["state"] == "delivered"
    assert post[0]["postal_order"]["waybill_code"] == order["item_code"]
    for item in items:
        assert number not in json.dumps(item)
    assert any(
        i["recipient"] == "*******" + number[-3:]
        for i in items
        if i["channel"] == "sms"
    )


async def test_withdrawal_cancels_the_placed_result_return_order(
    database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    await simulators.control("postal", auto_deliver=False)
    code = dossier_code()
    first = received(code, post=True, channels=[])
    async with running_notification(make_settings(database_url)) as service:
        await publish(service.kafka, first, result_recorded(code, first))

        async def accepted() -> list[dict[str, Any]]:
            return [
                o
                for o in await simulators.orders()
                if o["order_number"] == code and o["status"] == "accepted"
            ]

        await wait_for(accepted, message="order accepted")
        await publish(
            service.kafka,
            event(
                code, DossierWithdrawnV1(reason="Không còn nhu cầu"), causation=first
            ),
        )
        topic = NotificationTopic(service.kafka)

        async def cancelled() -> list[Any]:
            events = await topic.events(code)
            return [
                e
                for e in events
                if getattr(e.data, "postal_status", None) == "cancelled"
            ]

        await wait_for(cancelled, message="cancelled event")
    [order] = [o for o in await simulators.orders() if o["order_number"] == code]
    assert order["status"] == "cancelled"


async def test_callbacks_need_a_valid_signature_and_apply_once(
    database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    settings = make_settings(database_url)
    secret = settings.sms_callback_secret.get_secret_value()
    code, number = dossier_code(), phone()
    async with running_notification(settings) as service:
        body = json.dumps(
            {
                "message_id": "x",
                "reference": "7d1e6b1c-0f5a-4d7e-9a53-6f1f0e3c2a11",
                "status": "delivered",
            }
        ).encode()
        url = "/api/v1/callbacks/sms/receipts"
        unsigned = await service.client.post(
            url, content=body, headers={"content-type": "application/json"}
        )
        assert unsigned.status_code == 401
        forged = await service.client.post(
            url, content=body, headers=sign("wrong-secret", body)
        )
        assert forged.status_code == 401
        stale = await service.client.post(
            url, content=body, headers=sign(secret, body, timestamp=1_000_000)
        )
        assert stale.status_code == 401
        unknown = await service.client.post(
            url, content=body, headers=sign(secret, body)
        )
        assert unknown.status_code == 404

        await publish(
            service.kafka,
            received(code, phone_number=number, channels=[NotificationChannel.SMS]),
        )
        topic = NotificationTopic(service.kafka)
        events = await wait_for(
            lambda: _with(topic, code, "notification.delivered"), message="delivered"
        )
        [sms] = [m for m in await simulators.sms_messages() if m["to"] == number]
        replay = json.dumps(
            {
                "message_id": sms["message_id"],
                "reference": sms["reference"],
                "status": "failed",
            }
        ).encode()
        repeated = await service.client.post(
            url, content=replay, headers=sign(secret, replay)
        )
        assert repeated.json() == {"applied": False}  # a delivered SMS stays delivered
    assert sum(e.event_type == "notification.delivered" for e in events) == 1


async def _with(topic: NotificationTopic, code: str, event_type: str) -> list[Any]:
    events = await topic.events(code)
    return events if any(e.event_type == event_type for e in events) else []


async def test_officers_see_their_agency_only_and_imported_history_sends_nothing(
    database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    old, new, number = dossier_code(), dossier_code(), phone()
    async with running_notification(make_settings(database_url)) as service:
        early = event(
            new, SupplementRequestedV1(requested_components=["Bản sao giấy chứng sinh"])
        )
        # the supplement request overtakes the reception: parked, then applied
        await publish(
            service.kafka, received(old, phone_number=number, imported=True), early
        )
        await publish(
            service.kafka,
            received(new, phone_number=number, channels=[NotificationChannel.SMS]),
        )

        async def two_sms() -> list[dict[str, Any]]:
            sent = [m for m in await simulators.sms_messages() if m["to"] == number]
            return sent if len(sent) == 2 else []

        sent = await wait_for(two_sms, message="received + supplement SMS")
        url = "/api/v1/notifications"
        assert (
            await service.client.get(url, params={"dossier_code": new})
        ).status_code == 401
        other = await service.client.get(
            url,
            params={"dossier_code": new},
            headers=bearer("000.00.99.H99", Role.DESK_OFFICER),
        )
        assert other.status_code == 403
        assert "không được thao tác" in other.json()["error"]["message"]
        imported = await service.client.get(
            url, params={"dossier_code": old}, headers=bearer(AGENCY, Role.DESK_OFFICER)
        )
    assert imported.status_code == 200
    assert imported.json()["items"] == []
    texts = sorted(m["text"] for m in sent)
    assert any("yeu cau bo sung: Ban sao giay chung sinh" in t for t in texts)
    assert any("da duoc tiep nhan" in t for t in texts)
