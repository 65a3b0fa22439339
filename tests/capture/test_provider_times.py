"""A provider time that does not read is kept as typed, by every adapter.

``occurred_at`` is then None and the time as the provider wrote it is in
the event's fields as ``occurred_at_as_typed``, the same field whichever
adapter read it, so a person can still see when the provider says it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.calcom import parse_calcom
from firsttouch.capture.providers.calendly import parse_calendly
from firsttouch.capture.providers.close_crm import parse_close
from firsttouch.capture.providers.formsort import parse_formsort
from firsttouch.capture.providers.generic_chat import parse_generic_chat
from firsttouch.capture.providers.generic_lead import parse_generic_lead
from firsttouch.capture.providers.hubspot import parse_hubspot
from firsttouch.capture.providers.intercom import parse_intercom
from firsttouch.capture.providers.linkedin import parse_linkedin
from firsttouch.capture.providers.meta_chat import parse_meta_chat
from firsttouch.capture.providers.meta_leads import (
    lead_event,
    parse_leadgen_notification,
    polled_lead_event,
)
from firsttouch.capture.providers.olark import parse_olark
from firsttouch.capture.providers.payloads import TIME_AS_TYPED
from firsttouch.capture.providers.typeform import parse_typeform
from firsttouch.runtime import Runtime
from tests.capture.provider_support import fixture_json, post_api_inbound

Path = tuple[str | int, ...]


def _one(parse: Callable[[bytes], InboundEvent]) -> Callable[[Any], list[InboundEvent]]:
    return lambda payload: [parse(json.dumps(payload).encode())]


def _many(
    parse: Callable[[bytes], list[InboundEvent]],
) -> Callable[[Any], list[InboundEvent]]:
    return lambda payload: parse(json.dumps(payload).encode())


def _meta_notice_then_record(payload: Any) -> list[InboundEvent]:
    # The webhook's notice says when; the Graph record fetched after it does not.
    (notice,) = parse_leadgen_notification(json.dumps(payload).encode())
    record = {k: v for k, v in fixture_json("meta_graph_lead.json").items()}
    del record["created_time"]
    return [lead_event(notice, record, "{}")]


def _meta_polled(payload: Any) -> list[InboundEvent]:
    return [polled_lead_event(payload, form_id="form-1", page_id=None)]


@dataclass(frozen=True)
class Adapter:
    """An adapter, a payload it reads and where that payload says when."""

    fixture: str
    times: tuple[Path, ...]
    parse: Callable[[Any], list[InboundEvent]]


ADAPTERS = {
    "typeform": Adapter(
        "typeform_form_response.json",
        (("form_response", "submitted_at"),),
        _one(parse_typeform),
    ),
    "formsort": Adapter(
        "formsort_finalized.json", (("created_at",),), _one(parse_formsort)
    ),
    "generic-chat": Adapter(
        "generic_chat_message.json", (("sent_at",),), _one(parse_generic_chat)
    ),
    "generic-lead": Adapter(
        "generic_lead_zapier.json", (("created_at",),), _one(parse_generic_lead)
    ),
    "calendly": Adapter(
        "calendly_invitee_created.json",
        (("payload", "created_at"), ("created_at",)),
        _one(parse_calendly),
    ),
    "calcom": Adapter(
        "calcom_booking_created.json", (("createdAt",),), _one(parse_calcom)
    ),
    "close": Adapter(
        "close_opportunity_won.json", (("event", "date_created"),), _one(parse_close)
    ),
    "intercom": Adapter(
        "intercom_contact_created.json", (("created_at",),), _one(parse_intercom)
    ),
    "linkedin": Adapter(
        "linkedin_lead_created.json", (("occurredAt",),), _one(parse_linkedin)
    ),
    "hubspot": Adapter(
        "hubspot_batch.json",
        ((0, "occurredAt"), (1, "occurredAt"), (2, "occurredAt")),
        _many(parse_hubspot),
    ),
    "meta-lead-notice": Adapter(
        "meta_leadgen_notification.json",
        (("entry", 0, "changes", 0, "value", "created_time"),),
        _meta_notice_then_record,
    ),
    "meta-lead-record": Adapter(
        "meta_graph_lead.json", (("created_time",),), _meta_polled
    ),
    "messenger": Adapter(
        "messenger_ad_referral.json",
        tuple(("entry", 0, "messaging", n, "timestamp") for n in range(3)),
        _many(parse_meta_chat),
    ),
    "whatsapp": Adapter(
        "whatsapp_messages.json",
        (
            ("entry", 0, "changes", 0, "value", "messages", 0, "timestamp"),
            ("entry", 0, "changes", 0, "value", "statuses", 0, "timestamp"),
        ),
        _many(parse_meta_chat),
    ),
    "olark": Adapter(
        "olark_offline_message.json", (("items", 0, "timestamp"),), _one(parse_olark)
    ),
}

# Text no reader takes, and a number past any calendar.
UNREADABLE = [
    pytest.param("next Tuesday", id="words"),
    pytest.param(1e300, id="a-number-past-any-calendar"),
]


def _set(payload: Any, path: Path, value: Any) -> None:
    *parents, last = path
    for step in parents:
        payload = payload[step]
    payload[last] = value


def _events_with_time(adapter: Adapter, value: Any) -> list[InboundEvent]:
    payload = fixture_json(adapter.fixture)
    for path in adapter.times:
        _set(payload, path, value)
    return adapter.parse(payload)


@pytest.mark.parametrize("name", ADAPTERS)
def test_each_adapter_reads_the_time_its_payload_gives(name: str) -> None:
    adapter = ADAPTERS[name]

    events = _events_with_time(adapter, "2026-03-10T14:00:00Z")
    if not events[0].occurred_at:
        events = _events_with_time(adapter, 1773151200)

    for event in events:
        assert event.occurred_at is not None
        assert TIME_AS_TYPED not in event.fields


@pytest.mark.parametrize("value", UNREADABLE)
@pytest.mark.parametrize("name", ADAPTERS)
def test_each_adapter_keeps_a_time_it_cannot_read_as_typed(
    name: str, value: Any
) -> None:
    events = _events_with_time(ADAPTERS[name], value)

    typed = value if isinstance(value, str) else json.dumps(value)
    assert events
    for event in events:
        assert event.occurred_at is None
        assert event.fields[TIME_AS_TYPED] == typed


def test_a_readable_time_beside_an_unreadable_one_is_the_time() -> None:
    payload = fixture_json("calendly_invitee_created.json")
    payload["payload"]["created_at"] = "just now"

    (event,) = _one(parse_calendly)(payload)

    assert event.occurred_at is not None
    assert event.occurred_at.isoformat().startswith("2026-03-10T13:58:02")
    assert TIME_AS_TYPED not in event.fields


@pytest.mark.parametrize(
    ("given", "typed"),
    [("next Tuesday", "next Tuesday"), (1e300, "1e+300")],
)
def test_an_api_inbound_with_a_time_that_does_not_read_is_taken(
    client: TestClient, runtime: Runtime, given: Any, typed: str
) -> None:
    inbound = post_api_inbound(client, runtime, given)

    assert inbound.occurred_at is None
    assert inbound.fields[TIME_AS_TYPED] == typed


@pytest.mark.parametrize("given", ["2026-03-10T14:00:00+01:00", 1773147600])
def test_an_api_inbound_time_in_iso_or_epoch_seconds_is_read(
    client: TestClient, runtime: Runtime, given: Any
) -> None:
    inbound = post_api_inbound(client, runtime, given)

    assert inbound.occurred_at is not None
    assert inbound.occurred_at.isoformat().startswith("2026-03-10T13:00:00")
    assert TIME_AS_TYPED not in inbound.fields
