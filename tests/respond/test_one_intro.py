"""One introduction per buyer: a contact's later inbounds within the window
are answered by the first touch already sent, never by another intro, even
when two workers stage them at the same moment."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from firsttouch.clock import VirtualClock
from firsttouch.errors import DeliveryError
from firsttouch.jobs.runner import run_until_idle
from firsttouch.respond.first_touch import ANSWERED_EARLIER, run_first_touch
from firsttouch.respond.senders import SERVICE
from firsttouch.respond.touches import give_up_touches
from firsttouch.runtime import Runtime
from firsttouch.store.models import Inbound, Touch
from firsttouch.web import create_app
from tests.channels.fakes import SmtpSink
from tests.conftest import settle_accepted
from tests.respond.conftest import add_lead, worker_for

# Two threads, one barrier: each waits at most this long for the other.
BARRIER_SECONDS = 30


def _again(runtime: Runtime, first_id: int, *, status: str = "new") -> int:
    """Another inbound of the first inbound's contact, received now."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        first = session.get(Inbound, first_id)
        assert first is not None
        count = session.query(Inbound).count()
        later = Inbound(
            dedupe_key=f"test:again:{first_id}:{count}",
            received_at=now,
            channel="web_form",
            kind="message",
            source="website",
            contact_id=first.contact_id,
            owner_id=first.owner_id,
            fields={"form": "pricing"},
            status=status,
            first_touch_due_at=now + timedelta(minutes=5),
        )
        session.add(later)
        session.flush()
        return later.id


def _inbound(runtime: Runtime, inbound_id: int) -> Inbound:
    with runtime.db.sessions() as session:
        found = session.get(Inbound, inbound_id)
        assert found is not None
        return found


def _first_touches(runtime: Runtime) -> list[Touch]:
    with runtime.db.sessions() as session:
        query = select(Touch).where(Touch.purpose == "first_touch")
        return list(session.scalars(query.order_by(Touch.id)))


def test_three_inbounds_of_one_buyer_get_one_intro_and_all_are_answered(
    live_any: Runtime, sink: SmtpSink
) -> None:
    first = add_lead(live_any)
    second = _again(live_any, first)
    third = _again(live_any, first)

    assert run_first_touch(live_any, first) == {"email": "sent"}
    assert run_first_touch(live_any, second) == {"email": ANSWERED_EARLIER}
    assert run_first_touch(live_any, third) == {"email": ANSWERED_EARLIER}

    assert len(sink.received) == 1
    [touch] = _first_touches(live_any)
    for later in (second, third):
        inbound = _inbound(live_any, later)
        assert inbound.sla_state == "met"
        assert inbound.first_touch_at is not None
        answered = inbound.fields["first_touch_by"]
        assert answered["touch_id"] == touch.id
        assert answered["inbound_id"] == first
        assert "no second introduction" in answered["reason"]


def test_two_workers_staging_one_buyer_at_once_send_one_intro(
    live_any: Runtime, sink: SmtpSink
) -> None:
    first = add_lead(live_any)
    second = _again(live_any, first)
    barrier = threading.Barrier(2, timeout=BARRIER_SECONDS)
    results: dict[int, dict[str, str]] = {}
    errors: list[BaseException] = []

    def work(inbound_id: int) -> None:
        try:
            barrier.wait()
            results[inbound_id] = run_first_touch(live_any, inbound_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_SECONDS * 2)

    assert errors == []
    assert sorted(r["email"] for r in results.values()) == [ANSWERED_EARLIER, "sent"]
    assert len(sink.received) == 1
    assert len(_first_touches(live_any)) == 1


def test_a_buyer_writing_again_after_the_window_is_introduced_again(
    live: Runtime, sink: SmtpSink, clock: VirtualClock
) -> None:
    first = add_lead(live)
    run_first_touch(live, first)
    clock.advance(timedelta(hours=25))
    later = _again(live, first)

    assert run_first_touch(live, later) == {"email": "sent"}
    assert len(sink.received) == 2


def test_a_window_of_zero_introduces_every_inbound(
    live: Runtime, sink: SmtpSink
) -> None:
    limits = live.workspace.respond.limits.model_copy(update={"one_intro_hours": 0})
    respond = live.workspace.respond.model_copy(update={"limits": limits})
    live.workspace = live.workspace.model_copy(update={"respond": respond})
    first = add_lead(live)
    run_first_touch(live, first)

    assert run_first_touch(live, _again(live, first)) == {"email": "sent"}
    assert len(sink.received) == 2


def test_a_reply_in_the_thread_is_left_to_the_owner_as_before(
    live: Runtime, sink: SmtpSink
) -> None:
    first = add_lead(live)
    run_first_touch(live, first)
    reply = _again(live, first, status="reply")

    assert run_first_touch(live, reply) == {}
    assert "first_touch_by" not in _inbound(live, reply).fields
    assert len(sink.received) == 1


def test_three_form_posts_of_one_buyer_send_one_intro_end_to_end(
    live_any: Runtime, sink: SmtpSink
) -> None:
    posts = [
        ("demo-request", "twice@two.example"),
        ("pricing", "twice@two.example"),
        ("demo-request", "TWICE@Two.Example"),
    ]
    with TestClient(create_app(live_any)) as client:
        for form, email in posts:
            posted = client.post(
                f"/capture/forms/{form}", json={"email": email, "first_name": "Tess"}
            )
            assert posted.status_code == 202, posted.text
    settle_accepted(live_any)
    run_until_idle(worker_for(live_any))

    assert len(sink.received) == 1
    with live_any.db.sessions() as session:
        stored = list(session.scalars(select(Inbound).order_by(Inbound.id)))
    assert len({i.contact_id for i in stored}) == 1
    assert [i.sla_state for i in stored] == ["met", "met", "met"]
    assert sum("first_touch_by" in i.fields for i in stored) == 2


def test_an_intro_that_fails_for_good_leaves_no_inbound_answered_by_it(
    live_any: Runtime, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = add_lead(live_any)
    second = _again(live_any, first)
    email = live_any.services[SERVICE].email
    working = email.send

    def unreachable(*args: object, **kwargs: object) -> None:
        raise DeliveryError("cannot reach the mail server", permanent=False)

    # The intro is staged and on its way when the second inbound comes.
    monkeypatch.setattr(email, "send", unreachable)
    with pytest.raises(DeliveryError):
        run_first_touch(live_any, first)
    assert run_first_touch(live_any, second) == {"email": ANSWERED_EARLIER}
    monkeypatch.setattr(email, "send", working)

    # Then it is given up: the second inbound must not stay answered by it.
    assert give_up_touches(live_any, "mail server down", first_touch_of=first) == 1
    reopened = _inbound(live_any, second)
    assert reopened.sla_state == "waiting" and reopened.first_touch_at is None
    run_until_idle(worker_for(live_any))

    assert [m.recipients for m in sink.received] == [["ann@buyer.example"]]
    answered = _inbound(live_any, second)
    assert answered.sla_state == "met" and answered.first_touch_at is not None
    assert "first_touch_by_failed" in (answered.fields or {})
