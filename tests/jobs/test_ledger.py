"""The outbound ledger: one effect per key across retries and workers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from firsttouch.clock import VirtualClock
from firsttouch.errors import DeliveryError
from firsttouch.jobs.ledger import EffectInFlightError, Ledger
from firsttouch.store.db import Database


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
