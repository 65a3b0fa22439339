"""The group-commit writer: stored before the answer, once per key, no loss."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from firsttouch.capture.accept import (
    INGEST_KIND,
    Accepted,
    AcceptWriter,
    Earlier,
    _Request,
    deliver_to,
)
from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.ingest import ACCEPTED
from firsttouch.clock import VirtualClock
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, Inbound, Job
from tests.conftest import settle_accepted


def chat_event(n: int, *, key: str | None = None) -> InboundEvent:
    return InboundEvent(
        dedupe_key=key or f"chat:accept-{n}",
        channel="chat",
        kind="chat",
        source="website_chat",
        provider="generic_chat",
        person=PersonFacts(email=f"visitor{n}@harbourfreight{n}.example"),
        body_text="Can we see pricing for forty seats?",
        raw=json.dumps({"n": n}),
    )


@pytest.fixture
def any_runtime(runtime: Runtime, any_db: Database) -> Runtime:
    return Runtime(
        settings=runtime.settings.with_overrides(database_url=any_db.url),
        db=any_db,
        workspace=runtime.workspace,
        clock=runtime.clock,
    )


@pytest.fixture
def writer(any_runtime: Runtime) -> Iterator[AcceptWriter]:
    """A writer that only stores, as it does every event of a large group
    (``test_accept_ingest`` covers the small groups it ingests itself)."""
    accept = AcceptWriter(any_runtime, ingest_up_to=0)
    yield accept
    accept.stop()


def count(db: Database, model: Any, *where: Any) -> int:
    with db.sessions() as session:
        return int(
            session.scalar(select(func.count()).select_from(model).where(*where)) or 0
        )


def one_event_requests(
    writer: AcceptWriter, runtime: Runtime, many: int
) -> tuple[list[Future[list[Accepted]]], list[_Request]]:
    """Requests of one chat event each, as the writer thread takes them, and
    the futures their answers go to."""
    now = runtime.clock.now()
    answers: list[Future[list[Accepted]]] = [Future() for _ in range(many)]
    requests = [
        _Request(
            rows=[writer._row(chat_event(n), now)],
            events=[chat_event(n)],
            deliver=deliver_to(answers[n]),
        )
        for n in range(many)
    ]
    return answers, requests


def test_many_requests_share_commits_and_each_gets_its_own_row(
    writer: AcceptWriter, any_runtime: Runtime
) -> None:
    futures = [writer.submit([chat_event(n)]) for n in range(60)]
    answers = [future.result(timeout=30) for future in futures]

    ids = [answer[0].inbound_id for answer in answers]
    assert len(set(ids)) == 60
    assert not any(answer[0].duplicate for answer in answers)
    db = any_runtime.db
    assert count(db, Inbound, Inbound.status == ACCEPTED) == 60
    assert count(db, Job, Job.kind == INGEST_KIND, Job.state == "queued") == 60


@pytest.mark.parametrize("ingest_up_to", [0, 8], ids=["stored", "ingested"])
def test_a_retried_key_answers_with_the_first_row_in_or_across_groups(
    any_runtime: Runtime, ingest_up_to: int
) -> None:
    writer = AcceptWriter(any_runtime, ingest_up_to=ingest_up_to)
    try:
        (first,) = writer.accept_blocking([chat_event(1, key="chat:same")])
        together = writer.accept_blocking(
            [chat_event(2, key="chat:twice"), chat_event(3, key="chat:twice")]
        )
        (later,) = writer.accept_blocking([chat_event(4, key="chat:same")])
    finally:
        writer.stop()

    assert later.inbound_id == first.inbound_id and later.duplicate
    assert together[0].inbound_id == together[1].inbound_id
    assert [a.duplicate for a in together] == [False, True]
    assert count(any_runtime.db, Inbound) == 2
    # One job per new row: its capture, or its first touch when captured.
    queued = Job.kind.in_([INGEST_KIND, "respond.first_touch"])
    assert count(any_runtime.db, Job, queued) == 2


def test_one_bad_request_fails_alone_and_its_group_is_kept(
    writer: AcceptWriter, any_runtime: Runtime
) -> None:
    answers, requests = one_event_requests(writer, any_runtime, 3)
    requests[1].rows[0]["channel"] = None  # NOT NULL: the database refuses it

    writer._commit(requests)  # one group, as the writer thread would take it

    assert answers[0].result(timeout=1)[0].inbound_id
    assert answers[2].result(timeout=1)[0].inbound_id
    with pytest.raises(Exception, match="(?i)not null|null value"):
        answers[1].result(timeout=1)
    assert count(any_runtime.db, Inbound) == 2


def test_stop_writes_what_is_still_waiting(any_runtime: Runtime) -> None:
    writer = AcceptWriter(any_runtime)
    futures = [writer.submit([chat_event(n)]) for n in range(20)]
    writer.stop()

    assert all(future.done() for future in futures)
    assert count(any_runtime.db, Inbound) == 20


def test_the_ingest_job_finishes_the_lead_with_clocks_from_arrival(
    writer: AcceptWriter, any_runtime: Runtime
) -> None:
    (accepted,) = writer.accept_blocking([chat_event(7)])
    clock = any_runtime.clock
    assert isinstance(clock, VirtualClock)
    arrived = clock.now()
    clock.advance(timedelta(seconds=40))  # the worker was busy for a while

    assert settle_accepted(any_runtime) == 1

    with any_runtime.db.sessions() as session:
        inbound = session.get(Inbound, accepted.inbound_id)
        assert inbound is not None
        assert inbound.status == "new"
        assert inbound.owner_id
        contact = session.get(Contact, inbound.contact_id)
        assert (
            contact is not None and contact.email == "visitor7@harbourfreight7.example"
        )
        due = inbound.first_touch_due_at
        assert due == arrived + timedelta(
            minutes=any_runtime.workspace.respond.sla.first_touch_minutes
        )
        kinds = set(session.scalars(select(Job.kind).where(Job.state == "queued")))
    assert {"respond.first_touch", "qualify.inbound", "respond.sla_check"} <= kinds
    # Running the job again (a retried lease) changes nothing.
    assert settle_accepted(any_runtime) == 0


SECRET = "accept-test-secret"  # noqa: S105


def signed_chat(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": f"conv-{n}",
            "visitor": {"email": f"ines{n}@northwind{n}.example", "name": "Ines"},
            "message": "Looking for a quote",
        }
    ).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-Firsttouch-Signature": f"sha256={digest}",
    }


def test_a_webhook_answers_once_stored_and_the_worker_resolves_it(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from firsttouch.web import create_app

    runtime = Runtime(
        settings=runtime.settings.with_overrides(
            env={"GENERIC_CHAT_SECRET": SECRET}, accept_ingest_up_to=0
        ),
        db=runtime.db,
        workspace=runtime.workspace,
        clock=runtime.clock,
    )
    body, headers = signed_chat(1)
    with TestClient(create_app(runtime)) as raw:
        answer = raw.post("/capture/chat/generic", content=body, headers=headers)
        again = raw.post("/capture/chat/generic", content=body, headers=headers)

    assert answer.status_code == 200, answer.text
    (inbound_id,) = answer.json()["inbound_ids"]
    assert again.json() == {
        "accepted": True,
        "inbound_ids": [inbound_id],
        "duplicates": 1,
        "not_leads": [],
    }
    with runtime.db.sessions() as session:
        stored = session.get(Inbound, inbound_id)
        assert stored is not None and stored.status == ACCEPTED
        assert stored.raw == body.decode()

    settle_accepted(runtime)
    with runtime.db.sessions() as session:
        stored = session.get(Inbound, inbound_id)
        assert stored is not None and stored.status == "new" and stored.contact_id


def test_every_column_reads_back_as_given(
    writer: AcceptWriter, any_runtime: Runtime
) -> None:
    event = chat_event(9).model_copy(
        update={
            "fields": {"seats": 40, "plan": "Équipe", "tags": ["a", "b"]},
            "utm": {"utm_source": "newsletter", "utm_campaign": "spring"},
            "subject": "Prix\x00 pour 40",
            # Text that spells an escape is kept as typed.
            "body_text": "paths like C:\\u0000 stay",
            "occurred_at": datetime(2026, 3, 10, 13, 59, 30, tzinfo=UTC),
            "message_id": "<m-9@mail.example>",
        }
    )
    (accepted,) = writer.accept_blocking([event])

    with any_runtime.db.sessions() as session:
        stored = session.get(Inbound, accepted.inbound_id)
        assert stored is not None
        assert stored.fields == {"seats": 40, "plan": "Équipe", "tags": ["a", "b"]}
        assert stored.utm == {"utm_source": "newsletter", "utm_campaign": "spring"}
        assert stored.campaign == "spring"
        assert stored.subject == "Prix\ufffd pour 40"
        assert stored.body_text == "paths like C:\\u0000 stay"
        assert stored.occurred_at == datetime(2026, 3, 10, 13, 59, 30, tzinfo=UTC)
        assert stored.received_at == any_runtime.clock.now()
        assert stored.message_id == "m-9@mail.example"
        assert stored.raw == json.dumps({"n": 9})
        assert stored.raw_truncated is False


def test_an_answer_that_cannot_be_delivered_does_not_stop_the_writer(
    writer: AcceptWriter, any_runtime: Runtime
) -> None:
    def gone(outcome: object) -> None:
        raise RuntimeError("Event loop is closed")  # the client went away

    writer._enqueue([chat_event(1)], gone)
    (after,) = writer.accept_blocking([chat_event(2)])

    assert after.inbound_id and not after.duplicate
    assert count(any_runtime.db, Inbound) == 2  # the first was stored all the same


def test_writers_racing_on_the_same_keys_store_each_once(
    writer: AcceptWriter, any_runtime: Runtime
) -> None:
    # Groups that share keys in opposite orders, submitted all at once so the
    # writer threads (two on PostgreSQL) commit them side by side.
    futures = []
    for n in range(40):
        keys = [f"chat:race-{n % 5}", f"chat:race-{(n + 1) % 5}"]
        if n % 2:
            keys.reverse()
        futures.append(
            writer.submit([chat_event(n, key=keys[0]), chat_event(n, key=keys[1])])
        )
    answers = [accepted for future in futures for accepted in future.result(30)]

    assert len({a.inbound_id for a in answers}) == 5
    assert sum(not a.duplicate for a in answers) == 5
    assert count(any_runtime.db, Inbound) == 5
    assert count(any_runtime.db, Job, Job.kind == INGEST_KIND) == 5


def test_an_earlier_key_stored_recently_enough_makes_the_event_a_duplicate(
    writer: AcceptWriter, any_runtime: Runtime
) -> None:
    (first,) = writer.accept_blocking([chat_event(1, key="form:bucket-1")])
    stored_at = any_runtime.clock.now()

    def accept_with(key: str, earlier: Earlier) -> Accepted:
        answer: Future[list[Accepted]] = Future()
        writer._enqueue([chat_event(2, key=key)], deliver_to(answer), [earlier])
        (accepted,) = answer.result(timeout=30)
        return accepted

    recent = accept_with("form:bucket-2", Earlier("form:bucket-1", stored_at))
    too_old = accept_with(
        "form:bucket-3", Earlier("form:bucket-1", stored_at + timedelta(seconds=1))
    )

    assert recent.inbound_id == first.inbound_id and recent.duplicate
    assert too_old.inbound_id != first.inbound_id and not too_old.duplicate
    assert count(any_runtime.db, Inbound) == 2
