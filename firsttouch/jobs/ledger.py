"""Exactly-once outbound effects on top of at-least-once jobs.

Before an email, an SMS or a CRM write leaves, its idempotency key is
committed as *pending* with a short lease. After the call it is marked
*done* with the provider's answer. A retry that finds *done* skips the call;
one that finds an expired *pending* entry (a worker died mid-call) first asks
the channel whether the effect already happened (``lookup``) before calling
again. Two workers can never be in the call at once: the lease is taken by a
conditional update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from firsttouch.clock import Clock
from firsttouch.errors import DeliveryError, JobError
from firsttouch.store.db import Database
from firsttouch.store.models import LedgerEntry

Result = dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What happened: ``performed`` is False when an earlier attempt did it."""

    result: Result
    performed: bool


class EffectInFlightError(JobError):
    """Another worker holds this effect's lease; the job retries later."""

    code = "effect_in_flight"


class Ledger:
    def __init__(self, db: Database, clock: Clock, lease_seconds: float = 120.0):
        self.db = db
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)

    def _insert_pending(self, key: str, effect: str) -> None:
        values = {
            "key": key,
            "effect": effect,
            "state": "pending",
            "attempts": 0,
            "result": {},
            "created_at": self.clock.now(),
        }
        dialect = postgresql if self.db.is_postgres else sqlite
        stmt = dialect.insert(LedgerEntry).values(**values)
        with self.db.transaction() as session:
            session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))

    def _take_lease(self, key: str) -> tuple[LedgerEntry | None, bool]:
        """Return (entry, leased). The entry is returned done when it is done."""
        now = self.clock.now()
        with self.db.transaction() as session:
            taken = cast(
                "CursorResult[Any]",
                session.execute(
                    update(LedgerEntry)
                    .where(
                        LedgerEntry.key == key,
                        LedgerEntry.state == "pending",
                        or_(
                            LedgerEntry.lease_expires_at.is_(None),
                            and_(LedgerEntry.lease_expires_at < now),
                        ),
                    )
                    .values(
                        attempts=LedgerEntry.attempts + 1,
                        lease_expires_at=now + self.lease,
                    )
                    .execution_options(synchronize_session=False)
                ),
            ).rowcount
            entry = session.scalar(select(LedgerEntry).where(LedgerEntry.key == key))
            return entry, bool(taken)

    def _finish(self, key: str, state: str, result: Result, error: str | None) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.key == key)
                .values(
                    state=state,
                    result=result,
                    error=error,
                    done_at=self.clock.now() if state == "done" else None,
                    lease_expires_at=None,
                )
                .execution_options(synchronize_session=False)
            )

    def perform(
        self,
        key: str,
        effect: str,
        call: Callable[[], Result],
        lookup: Callable[[], Result | None] | None = None,
    ) -> Outcome:
        """Run ``call`` once for ``key`` across every retry and every worker."""
        self._insert_pending(key, effect)
        entry, leased = self._take_lease(key)
        assert entry is not None

        if entry.state == "done":
            return Outcome(dict(entry.result or {}), performed=False)
        if entry.state == "failed":
            raise DeliveryError(
                f"{effect} {key} failed permanently before: {entry.error}",
                permanent=True,
            )
        if not leased:
            raise EffectInFlightError(
                f"{effect} {key} is being performed by another worker"
            )

        # An earlier attempt may have made the call and died before recording it.
        if entry.attempts > 1 and lookup is not None:
            found = lookup()
            if found is not None:
                self._finish(key, "done", found, None)
                return Outcome(found, performed=False)

        try:
            result = call()
        except DeliveryError as exc:
            state = "failed" if exc.permanent else "pending"
            self._finish(key, state, {}, str(exc))
            raise

        self._finish(key, "done", result, None)
        return Outcome(result, performed=True)
