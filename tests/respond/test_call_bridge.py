"""Call bridge: the owner first, then the buyer, through a loopback Twilio."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from firsttouch.clock import VirtualClock
from firsttouch.errors import DeliveryError
from firsttouch.respond.alerts import issue_link_token
from firsttouch.respond.call_bridge import (
    BridgeTarget,
    bridge_token,
    call_bridge_handler,
    next_working_moment,
    start_bridge,
    textback_decision,
    voice_channel,
)
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Inbound, Job, OptOut, Touch
from firsttouch.workspace.channels import Channels, TwilioChannel
from tests.respond.extras_fakes import Answer, FakeApi, fake_api, seed_lead

PUBLIC = "https://ft.example"
MAYA_PHONE = "+14155550101"
BUYER_PHONE = "+14155550123"
TUESDAY_0900_PDT = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with fake_api() as server:
        yield server


@pytest.fixture
def bridge_runtime(runtime: Runtime, api: FakeApi) -> Runtime:
    twilio = TwilioChannel(
        account_sid=api.account_sid,
        auth_token="${TWILIO_AUTH_TOKEN}",
        base_url=api.url,
        from_numbers=["+14155550199"],
    )
    runtime.workspace = runtime.workspace.model_copy(
        update={"channels": Channels(outbox=False, twilio=twilio)}
    )
    env = dict(runtime.settings.env) | {"TWILIO_AUTH_TOKEN": api.auth_token}
    runtime.settings = runtime.settings.with_overrides(env=env, public_url=PUBLIC)
    return runtime


def calls_path(api: FakeApi) -> str:
    return f"/2010-04-01/Accounts/{api.account_sid}/Calls.json"


def test_owner_off_shift_defers_the_bridge_to_their_next_shift(
    bridge_runtime: Runtime, api: FakeApi, db: Database, clock: VirtualClock
) -> None:
    inbound_id = seed_lead(db, clock.now())  # 07:00 in Los Angeles: Maya starts at 8

    call_bridge_handler(bridge_runtime)(_ctx({"inbound_id": inbound_id}, db, clock))

    assert api.requests_to(calls_path(api)) == []
    with db.sessions() as session:
        job = session.scalars(
            select(Job).where(Job.kind == "respond.call_bridge")
        ).one()
    assert job.due_at == datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 08:00 PDT
    assert job.payload == {"inbound_id": inbound_id}


def test_bridge_rings_the_owner_with_our_twiml_once(
    bridge_runtime: Runtime, api: FakeApi, db: Database, clock: VirtualClock
) -> None:
    clock.set(TUESDAY_0900_PDT)
    inbound_id = seed_lead(db, clock.now())
    voice = voice_channel(bridge_runtime)

    first = start_bridge(bridge_runtime, inbound_id, voice)
    again = start_bridge(bridge_runtime, inbound_id, voice)

    assert first.state == "calling" and first.sid and first.sid.startswith("CA")
    assert again.sid == first.sid
    posts = [r for r in api.requests_to(calls_path(api)) if r.method == "POST"]
    assert len(posts) == 1
    form = posts[0].form()
    assert form["To"] == MAYA_PHONE and form["From"] == "+14155550199"
    assert form["Url"].startswith(f"{PUBLIC}/voice/bridge/")
    assert form["StatusCallback"] == form["Url"] + "/status"
    with db.sessions() as session:
        touch = session.scalars(
            select(Touch).where(Touch.purpose == "call_bridge")
        ).one()
    assert touch.channel == "call" and touch.to_address == BUYER_PHONE
    assert touch.provider_id == first.sid and touch.status == "queued"
    assert touch.meta["lead"] == "Ana Ruiz of Ruiz Logistics"


def test_buyer_quiet_hours_move_the_bridge(
    bridge_runtime: Runtime, api: FakeApi, db: Database, clock: VirtualClock
) -> None:
    # 09:00 in London, Hannah is working; 01:00 for the buyer in California.
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    inbound_id = seed_lead(
        db, clock.now(), owner="hannah", timezone="America/Los_Angeles"
    )

    outcome = start_bridge(bridge_runtime, inbound_id, voice_channel(bridge_runtime))

    assert outcome.state == "deferred"
    assert outcome.reason.startswith("quiet_hours")
    assert outcome.until == datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 08:00 PDT
    assert api.requests_to(calls_path(api)) == []


def test_an_opted_out_buyer_is_never_bridged(
    bridge_runtime: Runtime, api: FakeApi, db: Database, clock: VirtualClock
) -> None:
    clock.set(TUESDAY_0900_PDT)
    inbound_id = seed_lead(db, clock.now())
    with db.transaction() as session:
        session.add(
            OptOut(
                channel="sms",
                address=BUYER_PHONE,
                source="sms:STOP",
                created_at=clock.now(),
            )
        )

    outcome = start_bridge(bridge_runtime, inbound_id, voice_channel(bridge_runtime))

    assert (outcome.state, outcome.reason) == ("skipped", "opted_out")
    assert api.requests_to(calls_path(api)) == []


def test_a_person_already_on_it_stops_the_automatic_bridge(
    bridge_runtime: Runtime, db: Database, clock: VirtualClock
) -> None:
    clock.set(TUESDAY_0900_PDT)
    inbound_id = seed_lead(db, clock.now())
    with db.transaction() as session:
        session.get(Inbound, inbound_id).human_touch_at = clock.now()  # type: ignore[union-attr]

    outcome = start_bridge(bridge_runtime, inbound_id, voice_channel(bridge_runtime))

    assert outcome.reason == "a_person_already_answered"


def test_twilio_429_is_retried_and_a_bad_number_is_permanent(
    bridge_runtime: Runtime, api: FakeApi, db: Database, clock: VirtualClock
) -> None:
    clock.set(TUESDAY_0900_PDT)
    first = seed_lead(db, clock.now())
    second = seed_lead(db, clock.now(), first_name="Bo")
    path = calls_path(api)
    api.queue(
        path,
        Answer(
            429,
            {"code": 20429, "message": "Too Many Requests", "status": 429},
            {"Retry-After": "0"},
        ),
    )

    ok = start_bridge(bridge_runtime, first, voice_channel(bridge_runtime))
    api.queue(
        path,
        Answer(
            400,
            {
                "code": 21211,
                "message": "The 'To' number is not a valid phone number.",
                "status": 400,
            },
        ),
    )
    with pytest.raises(DeliveryError) as refused:
        start_bridge(bridge_runtime, second, voice_channel(bridge_runtime))

    assert ok.state == "calling"
    assert refused.value.permanent and refused.value.provider_code == "21211"


def test_next_working_moment_follows_the_reps_wall_clock(runtime: Runtime) -> None:
    maya = runtime.workspace.team.rep("maya")
    assert maya is not None
    friday_evening = datetime(2026, 3, 7, 2, 0, tzinfo=UTC)  # Fri 18:00 PST

    # Monday 08:00 PDT, after the change on Sunday 8 March.
    expected = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
    assert next_working_moment(maya, friday_evening) == expected
    assert next_working_moment(maya, TUESDAY_0900_PDT) == TUESDAY_0900_PDT


# -- Twilio's callbacks --------------------------------------------------------


def signed_post(client: TestClient, path: str, form: dict[str, str], token: str) -> Any:
    signature = RequestValidator(token).compute_signature(f"{PUBLIC}{path}", form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


@pytest.fixture
def twiml_client(bridge_runtime: Runtime) -> Iterator[TestClient]:
    from firsttouch.web import create_app

    with TestClient(create_app(bridge_runtime)) as test_client:
        yield test_client


def test_twiml_whispers_then_dials_the_buyer_on_1(
    bridge_runtime: Runtime,
    api: FakeApi,
    twiml_client: TestClient,
    db: Database,
    clock: VirtualClock,
) -> None:
    clock.set(TUESDAY_0900_PDT)
    inbound_id = seed_lead(db, clock.now(), company="Ruiz & <Sons>")
    start_bridge(bridge_runtime, inbound_id, voice_channel(bridge_runtime))
    token = bridge_token(
        bridge_runtime.settings.secret_key, BridgeTarget(inbound_id, "maya", "policy")
    )
    base = f"/voice/bridge/{token}"
    answered = {"CallSid": "CA1", "CallStatus": "in-progress", "To": MAYA_PHONE}

    whisper = signed_post(twiml_client, base, answered, api.auth_token)
    connect = signed_post(
        twiml_client, f"{base}/connect", answered | {"Digits": "1"}, api.auth_token
    )
    declined = signed_post(
        twiml_client, f"{base}/connect", answered | {"Digits": "9"}, api.auth_token
    )

    assert whisper.headers["content-type"].startswith("application/xml")
    assert "Ana Ruiz of Ruiz &amp; &lt;Sons&gt;" in whisper.text
    assert "Demo request" in whisper.text
    assert f'action="{PUBLIC}{base}/connect"' in whisper.text
    assert "<Gather" in whisper.text and 'numDigits="1"' in whisper.text
    assert f"<Number>{BUYER_PHONE}</Number>" in connect.text
    assert 'callerId="+14155550199"' in connect.text
    assert "<Hangup" in declined.text and "<Dial" not in declined.text


def test_callbacks_without_twilios_signature_or_with_a_forged_token_are_refused(
    bridge_runtime: Runtime, api: FakeApi, twiml_client: TestClient
) -> None:
    token = bridge_token(
        bridge_runtime.settings.secret_key, BridgeTarget(1, "maya", "x")
    )

    unsigned = twiml_client.post(f"/voice/bridge/{token}/connect", data={"Digits": "1"})
    wrong_key = signed_post(
        twiml_client, f"/voice/bridge/{token}/connect", {"Digits": "1"}, "not-the-token"
    )
    forged = signed_post(
        twiml_client, "/voice/bridge/forged/connect", {"Digits": "1"}, api.auth_token
    )

    assert unsigned.status_code == 401 and wrong_key.status_code == 401
    assert forged.status_code == 404


def test_a_connected_buyer_counts_as_the_human_follow_up(
    bridge_runtime: Runtime,
    api: FakeApi,
    twiml_client: TestClient,
    db: Database,
    clock: VirtualClock,
) -> None:
    clock.set(TUESDAY_0900_PDT)
    inbound_id = seed_lead(db, clock.now())
    start_bridge(bridge_runtime, inbound_id, voice_channel(bridge_runtime))
    token = bridge_token(
        bridge_runtime.settings.secret_key, BridgeTarget(inbound_id, "maya", "policy")
    )

    signed_post(
        twiml_client,
        f"/voice/bridge/{token}/dial",
        {"CallSid": "CA1", "DialCallStatus": "completed"},
        api.auth_token,
    )
    status = signed_post(
        twiml_client,
        f"/voice/bridge/{token}/status",
        {"CallSid": "CA1", "CallStatus": "completed"},
        api.auth_token,
    )

    assert status.status_code == 204
    with db.sessions() as session:
        touch = session.scalars(
            select(Touch).where(Touch.purpose == "call_bridge")
        ).one()
        inbound = session.get(Inbound, inbound_id)
    assert touch.status == "connected" and touch.meta["buyer_leg"] == "completed"
    assert inbound is not None and inbound.human_touch_at == TUESDAY_0900_PDT


def test_the_reps_missed_leg_is_recorded(
    bridge_runtime: Runtime,
    api: FakeApi,
    twiml_client: TestClient,
    db: Database,
    clock: VirtualClock,
) -> None:
    clock.set(TUESDAY_0900_PDT)
    inbound_id = seed_lead(db, clock.now())
    start_bridge(bridge_runtime, inbound_id, voice_channel(bridge_runtime))
    token = bridge_token(
        bridge_runtime.settings.secret_key, BridgeTarget(inbound_id, "maya", "policy")
    )

    signed_post(
        twiml_client,
        f"/voice/bridge/{token}/status",
        {"CallSid": "CA1", "CallStatus": "no-answer"},
        api.auth_token,
    )

    with db.sessions() as session:
        touch = session.scalars(
            select(Touch).where(Touch.purpose == "call_bridge")
        ).one()
    assert touch.status == "no-answer" and "no-answer" in (touch.error or "")


def test_call_link_rings_the_rep_even_after_hours(
    bridge_runtime: Runtime,
    api: FakeApi,
    twiml_client: TestClient,
    db: Database,
    clock: VirtualClock,
) -> None:
    # 18:30 in Los Angeles: after Maya's shift, inside the buyer's calling hours.
    clock.set(datetime(2026, 3, 11, 1, 30, tzinfo=UTC))
    inbound_id = seed_lead(db, clock.now())
    token = issue_link_token(
        bridge_runtime.settings.secret_key, clock, inbound_id, "maya"
    )

    page = twiml_client.get(f"/alerts/call/{token}")
    assert api.requests_to(calls_path(api)) == []  # a GET never rings a phone
    first = twiml_client.post(f"/alerts/call/{token}")
    double = twiml_client.post(f"/alerts/call/{token}")

    assert "Call me now" in page.text
    assert "Calling you now" in first.text and "Calling you now" in double.text
    posts = [r for r in api.requests_to(calls_path(api)) if r.method == "POST"]
    assert len(posts) == 1


# -- missed inbound calls --------------------------------------------------------


def missed_call(db: Database, now: datetime, kind: str = "missed_call") -> Inbound:
    with db.transaction() as session:
        inbound = Inbound(
            dedupe_key=f"twilio:CA{now.timestamp()}:{kind}",
            received_at=now,
            channel="call",
            kind=kind,
            source="phone",
        )
        session.add(inbound)
        session.flush()
        session.expunge(inbound)
    return inbound


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (BUYER_PHONE, (True, "missed_call")),
        ("anonymous", (False, "caller_id_withheld")),
        ("+266696687", (False, "caller_id_withheld")),
        (None, (False, "caller_id_withheld")),
        ("+442075550103", (False, "number_cannot_take_texts")),  # a London landline
        ("+18005550100", (False, "number_cannot_take_texts")),  # toll free
        ("+1555", (False, "caller_id_invalid")),
    ],
)
def test_textback_goes_only_to_numbers_that_can_take_it(
    runtime: Runtime,
    db: Database,
    clock: VirtualClock,
    caller: str | None,
    expected: tuple[bool, str],
) -> None:
    inbound = missed_call(db, clock.now())
    with db.sessions() as session:
        decision = textback_decision(
            session, runtime.workspace, inbound, caller, clock.now()
        )

    assert (decision.send, decision.reason) == expected


def test_textback_respects_the_workspace_switch_and_a_daily_cooldown(
    runtime: Runtime, db: Database, clock: VirtualClock
) -> None:
    earlier = missed_call(db, clock.now() - timedelta(hours=2))
    now_missed = missed_call(db, clock.now())
    with db.transaction() as session:
        session.add(
            Touch(
                inbound_id=earlier.id,
                channel="sms",
                purpose="first_touch",
                status="sent",
                to_address=BUYER_PHONE,
                created_at=clock.now() - timedelta(hours=2),
            )
        )
    off = runtime.workspace.model_copy(
        update={
            "respond": runtime.workspace.respond.model_copy(
                update={"missed_call_textback": False}
            )
        }
    )
    picked_up = missed_call(db, clock.now(), kind="call")

    with db.sessions() as session:
        repeat = textback_decision(
            session, runtime.workspace, now_missed, BUYER_PHONE, clock.now()
        )
        disabled = textback_decision(session, off, now_missed, BUYER_PHONE, clock.now())
        answered = textback_decision(
            session, runtime.workspace, picked_up, BUYER_PHONE, clock.now()
        )

    assert repeat.reason == "texted_in_the_last_day" and not repeat.send
    assert disabled.reason == "textback_disabled"
    assert answered.reason == "not_a_missed_call"


def _ctx(payload: dict[str, Any], db: Database, clock: VirtualClock) -> Any:
    class Ctx:
        pass

    ctx = Ctx()
    ctx.payload = payload  # type: ignore[attr-defined]
    ctx.db = db  # type: ignore[attr-defined]
    ctx.clock = clock  # type: ignore[attr-defined]
    return ctx


def test_a_worker_that_died_mid_call_does_not_ring_the_rep_twice(
    bridge_runtime: Runtime, api: FakeApi, db: Database, clock: VirtualClock
) -> None:
    from firsttouch.channels.messages import CallRequest
    from firsttouch.jobs.ledger import Ledger
    from firsttouch.respond.call_bridge import bridge_url

    clock.set(TUESDAY_0900_PDT)
    inbound_id = seed_lead(db, clock.now())
    key = f"bridge:{inbound_id}:maya:policy"
    token = bridge_token(
        bridge_runtime.settings.secret_key, BridgeTarget(inbound_id, "maya", "policy")
    )
    voice = voice_channel(bridge_runtime)
    # The dead worker: it took the lease, placed the call, and never recorded it.
    ledger = Ledger(db, clock)
    ledger._insert_pending(key, "call.bridge")
    ledger._take_lease(key)
    voice.call(CallRequest(to=MAYA_PHONE, twiml_url=bridge_url(PUBLIC, token), key=key))
    clock.advance(timedelta(minutes=5))

    outcome = start_bridge(bridge_runtime, inbound_id, voice)

    posts = [r for r in api.requests_to(calls_path(api)) if r.method == "POST"]
    assert len(posts) == 1
    assert outcome.state == "calling" and outcome.sid == api.calls[0]["sid"]
