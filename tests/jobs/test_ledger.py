"""The outbound ledger: one effect per key across retries and workers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Connection, event, select

from firsttouch.clock import VirtualClock
from firsttouch.errors import DeliveryError
from firsttouch.jobs.ledger import EffectInFlightError, Ledger
from firsttouch.store.db import Database
from firsttouch.store.models import LedgerEntry


def test_second_perform_of_a_done_key_skips_the_call(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock)
    calls: list[int] = []
    first = ledger.perform("k1", "email", lambda: calls.append(1) or {"id": "m1"})
    second = ledger.perform("k1", "email", lambda: calls.append(2) or {"id": "m2"})
    assert calls == [1]
    assert first.performed and not second.performed
    assert second.result == {"id": "m1"}


def test_retryable_failure_lets_the_next_attempt_call_again(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock)

    def fail() -> dict[str, str]:
        raise DeliveryError("421 try later", permanent=False)

    with pytest.raises(DeliveryError):
        ledger.perform("k2", "email", fail)
    assert ledger.perform("k2", "email", lambda: {"ok": "1"}).performed


def test_an_unexpected_error_in_the_call_gives_the_lease_back(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock, lease_seconds=120)

    def crash() -> dict[str, str]:
        raise UnicodeEncodeError("ascii", "m\u00fcller", 1, 2, "not ASCII")

    with pytest.raises(UnicodeEncodeError):
        ledger.perform("k3", "email", crash)

    # The next attempt is not told another worker holds it; it asks first.
    asked: list[int] = []
    outcome = ledger.perform(
        "k3", "email", lambda: {"ok": "1"}, lookup=lambda: asked.append(1) or None
    )
    assert outcome.performed and asked == [1]
    assert _state(any_db, "k3") == "done"


def test_permanent_failure_is_remembered(any_db: Database, clock: VirtualClock) -> None:
    ledger = Ledger(any_db, clock)

    def reject() -> dict[str, str]:
        raise DeliveryError("550 unknown user", permanent=True)

    with pytest.raises(DeliveryError):
        ledger.perform("k3", "email", reject)
    with pytest.raises(DeliveryError, match="failed permanently"):
        ledger.perform("k3", "email", lambda: {"ok": "1"})


def test_a_live_lease_keeps_a_second_worker_out(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock, lease_seconds=60)
    assert ledger._open("k4", "sms")[1]
    with pytest.raises(EffectInFlightError):
        ledger.perform("k4", "sms", lambda: {"ok": "1"})


def test_after_a_crash_lookup_finds_the_effect_and_skips_the_call(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock, lease_seconds=60)
    ledger._insert_pending("k5", "sms")
    ledger._take_lease("k5")  # the worker that died mid-call
    clock.advance(timedelta(seconds=61))
    calls: list[int] = []
    outcome = ledger.perform(
        "k5", "sms", lambda: calls.append(1) or {}, lookup=lambda: {"sid": "SM1"}
    )
    assert calls == []
    assert outcome.result == {"sid": "SM1"} and not outcome.performed


def test_a_worker_that_died_after_opening_leaves_a_lease_that_expires(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock, lease_seconds=60)
    assert ledger._open("k6", "sms")[1]  # a first attempt: written already leased
    with pytest.raises(EffectInFlightError):
        ledger.perform("k6", "sms", lambda: {"ok": "1"})
    clock.advance(timedelta(seconds=61))
    calls: list[int] = []
    outcome = ledger.perform(
        "k6", "sms", lambda: calls.append(1) or {}, lookup=lambda: {"sid": "SM6"}
    )
    assert calls == []
    assert outcome.result == {"sid": "SM6"} and not outcome.performed


def _commits(db: Database) -> list[int]:
    """Count every commit on ``db`` from now on (the list grows by one each)."""
    seen: list[int] = []
    event.listen(db.engine, "commit", lambda conn: seen.append(1))
    return seen


def _state(db: Database, key: str) -> str | None:
    with db.engine.connect() as conn:
        return conn.scalar(select(LedgerEntry.state).where(LedgerEntry.key == key))


def test_a_call_that_settles_its_entry_costs_one_commit_after_the_call(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock)

    def send() -> dict[str, str]:
        result = {"id": "m7"}
        # The record runs in the commit that marks the entry done.
        ledger.settle("k7", result, lambda conn: seen_done.append(_read(conn)))
        return result

    def _read(conn: Connection) -> str:
        return str(
            conn.scalar(select(LedgerEntry.state).where(LedgerEntry.key == "k7"))
        )

    seen_done: list[str] = []
    commits = _commits(any_db)
    outcome = ledger.perform("k7", "email", send)

    assert outcome.performed and outcome.result == {"id": "m7"}
    assert seen_done == ["done"]
    assert len(commits) == 2  # the pending mark, then the settled record
    calls: list[int] = []
    again = ledger.perform("k7", "email", lambda: calls.append(1) or {})
    assert calls == [] and again.result == {"id": "m7"} and not again.performed


def test_a_record_that_fails_leaves_the_entry_pending_for_the_lookup(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock, lease_seconds=60)

    def broken_record(conn: Connection) -> None:
        raise RuntimeError("the database went away")

    def send() -> dict[str, str]:
        ledger.settle("k8", {"id": "m8"}, broken_record)
        return {"id": "m8"}

    with pytest.raises(RuntimeError):
        ledger.perform("k8", "email", send)
    assert _state(any_db, "k8") == "pending"

    # As after a crash: the retry asks before it calls again.
    clock.advance(timedelta(seconds=61))
    calls: list[int] = []
    outcome = ledger.perform(
        "k8", "email", lambda: calls.append(1) or {}, lookup=lambda: {"id": "m8"}
    )
    assert calls == [] and not outcome.performed
    assert _state(any_db, "k8") == "done"


def test_a_failure_after_the_entry_settled_keeps_it_done(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock)

    def send_then_fail() -> dict[str, str]:
        ledger.settle("k9", {"id": "m9"}, lambda conn: None)
        raise DeliveryError("connection dropped after the 250", permanent=True)

    outcome = ledger.perform("k9", "email", send_then_fail)
    assert outcome.performed and outcome.result == {"id": "m9"}
    assert _state(any_db, "k9") == "done"


def test_an_entry_opened_in_the_callers_commit_is_performed_once(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock, lease_seconds=60)
    with any_db.write_connection() as conn:
        opened = ledger.open_in(conn, "k10", "sms")
    assert _state(any_db, "k10") == "pending"

    commits = _commits(any_db)
    calls: list[int] = []
    first = ledger.perform(
        "k10", "sms", lambda: calls.append(1) or {"sid": "SM10"}, opened=opened
    )
    assert first.performed and calls == [1]
    assert len(commits) == 1  # only the done mark: the pending one was the caller's

    # A second opening finds the entry done and the call is not made again.
    with any_db.write_connection() as conn:
        again = ledger.open_in(conn, "k10", "sms")
    second = ledger.perform("k10", "sms", lambda: calls.append(2) or {}, opened=again)
    assert calls == [1] and second.result == {"sid": "SM10"}


def test_an_entry_opened_under_a_live_lease_stays_out_of_the_call(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock, lease_seconds=60)
    assert ledger._open("k11", "sms")[1]  # another worker is in the call
    with any_db.write_connection() as conn:
        opened = ledger.open_in(conn, "k11", "sms")
    assert not opened[1]
    with pytest.raises(EffectInFlightError):
        ledger.perform("k11", "sms", lambda: {"ok": "1"}, opened=opened)
