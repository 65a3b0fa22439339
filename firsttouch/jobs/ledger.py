"""Exactly-once outbound effects on top of at-least-once jobs.

Before an email, an SMS or a CRM write leaves, its idempotency key is
committed as *pending* with a short lease. After the call it is marked
*done* with the provider's answer. A retry that finds *done* skips the call;
one that finds an expired *pending* entry (a worker died mid-call) first asks
the channel whether the effect already happened (``lookup``) before calling
again. Two workers can never be in the call at once: the lease is taken by a
conditional update.

A call that learns of its own success before it returns (an SMTP server's
250) may ``settle`` the entry from inside the call: the ledger's *done* and
the caller's own record of the effect are one durable commit, and
``perform`` adds none after the call.

A first attempt writes the entry with its lease already taken, in one
statement and one commit; only a key seen before needs the conditional
update. Statements are built once, on a Core connection: this runs for
every message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Table, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from firsttouch.clock import Clock, ensure_utc
from firsttouch.errors import DeliveryError, JobError
from firsttouch.logs import get_logger
from firsttouch.store.db import Database
from firsttouch.store.models import LedgerEntry
from firsttouch.store.prepared import Prepared

log = get_logger(__name__)

Result = dict[str, Any]
T = TypeVar("T")

_LEDGER = cast(Table, LedgerEntry.__table__)
_WHEN = _LEDGER.c.lease_expires_at.type
# RETURNING says whether the row went in: rowcount cannot (psycopg reports -1
# for an insert that returns rows, which PostgreSQL inserts do implicitly).
_INSERT = {
    name: Prepared(
        dialect.insert(_LEDGER)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(_LEDGER.c.id)
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_TAKE_LEASE = Prepared(
    update(_LEDGER)
    .where(
        _LEDGER.c.key == bindparam("key_"),
        _LEDGER.c.state == "pending",
        or_(
            _LEDGER.c.lease_expires_at.is_(None),
            _LEDGER.c.lease_expires_at < bindparam("now_", type_=_WHEN),
        ),
    )
    .values(
        attempts=_LEDGER.c.attempts + 1,
        lease_expires_at=bindparam("until_", type_=_WHEN),
    )
)
_READ = Prepared(
    select(
        _LEDGER.c.state,
        _LEDGER.c.attempts,
        _LEDGER.c.result,
        _LEDGER.c.error,
        _LEDGER.c.lease_expires_at,
    ).where(_LEDGER.c.key == bindparam("key_"))
)
_FINISH = Prepared(
    update(_LEDGER)
    .where(_LEDGER.c.key == bindparam("key_"))
    .values(
        state=bindparam("state_"),
        result=bindparam("result_", type_=_LEDGER.c.result.type),
        error=bindparam("error_"),
        done_at=bindparam("done_", type_=_WHEN),
        lease_expires_at=None,
    )
)


@dataclass(frozen=True)
class Entry:
    """A ledger entry as an attempt finds it."""

    state: str
    attempts: int
    result: Result
    error: str | None
    lease_expires_at: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """What happened: ``performed`` is False when an earlier attempt did it."""

    result: Result
    performed: bool


class EffectInFlightError(JobError):
    """Another worker holds this effect's lease until ``until``.

    The job is not at fault: the worker puts it back for when the lease
    expires, without counting the attempt (the holder may have died).
    """

    code = "effect_in_flight"

    def __init__(self, message: str, until: datetime | None = None):
        super().__init__(message)
        self.until = until


class Ledger:
    def __init__(self, db: Database, clock: Clock, lease_seconds: float = 120.0):
        self.db = db
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        # Results settled from inside a call now running, by key (``settle``).
        self._settled: dict[str, Result] = {}

    def _open(self, key: str, effect: str) -> tuple[Entry, bool]:
        """Record ``key`` as pending and take its lease; return (entry, leased).

        Commits before returning, so the pending mark is durable before any
        call is made.
        """
        with self.db.write_connection() as conn:
            return self.open_in(conn, key, effect)

    def open_in(self, conn: Connection, key: str, effect: str) -> tuple[Entry, bool]:
        """``_open`` inside the caller's transaction: its commit opens the entry.

        For a caller that commits durably just before the call anyway (the
        touch it is about to send): one commit instead of two. Pass what it
        returns to ``perform`` as ``opened``, and only after that commit.
        """
        now = self.clock.now()
        if self._insert(conn, key, effect, now, leased=True):
            return Entry("pending", 1, {}, None), True
        return self._lease(conn, key, now)

    def _insert_pending(self, key: str, effect: str) -> None:
        """Record ``key`` as pending, unleased: a first attempt's first step."""
        with self.db.write_connection() as conn:
            self._insert(conn, key, effect, self.clock.now(), leased=False)

    def _take_lease(self, key: str) -> tuple[Entry, bool]:
        """Lease a pending ``key`` whose lease is free or expired."""
        with self.db.write_connection() as conn:
            return self._lease(conn, key, self.clock.now())

    def _insert(
        self, conn: Connection, key: str, effect: str, now: datetime, *, leased: bool
    ) -> bool:
        """Add the entry unless it exists; True if it was added."""
        statement = _INSERT.get(conn.dialect.name, _INSERT["sqlite"])
        values: dict[str, Any] = {
            "key": key,
            "effect": effect,
            "state": "pending",
            "attempts": 1 if leased else 0,
            "result": {},
            "lease_expires_at": now + self.lease if leased else None,
            "created_at": now,
        }
        return statement.run(conn, values).first() is not None

    def _lease(self, conn: Connection, key: str, now: datetime) -> tuple[Entry, bool]:
        taken = _TAKE_LEASE.run(
            conn, {"key_": key, "now_": now, "until_": now + self.lease}
        ).rowcount
        row = _READ.run(conn, {"key_": key}).one()
        entry = Entry(
            row.state,
            row.attempts,
            dict(row.result or {}),
            row.error,
            ensure_utc(row.lease_expires_at) if row.lease_expires_at else None,
        )
        return entry, bool(taken)

    def _finish(self, key: str, state: str, result: Result, error: str | None) -> None:
        with self.db.write_connection() as conn:
            self._mark(conn, key, state, result, error)

    def _mark(
        self, conn: Connection, key: str, state: str, result: Result, error: str | None
    ) -> None:
        done_at = self.clock.now() if state == "done" else None
        values = {
            "key_": key,
            "state_": state,
            "result_": result,
            "error_": error,
            "done_": done_at,
        }
        _FINISH.run(conn, values)

    def settle(self, key: str, result: Result, record: Callable[[Connection], T]) -> T:
        """Mark ``key`` done from inside its call; ``record`` in the same commit.

        Commits durably before returning, and returns what ``record``
        returned. A failure in ``record`` rolls both back, and the entry
        stays pending, as if the process had died before the commit.
        ``perform`` then records nothing more when the call returns.
        """
        with self.db.write_connection() as conn:
            self._mark(conn, key, "done", result, None)
            recorded = record(conn)
        self._settled[key] = result
        return recorded

    def _release(self, key: str, exc: Exception) -> None:
        """Give the lease back after an unexpected failure of the call.

        Whether the effect happened is unknown, as after a crash, so the next
        attempt asks ``lookup`` first; it just need not wait for the lease to
        expire, nor be told another worker holds it.
        """
        try:
            self._finish(key, "pending", {}, f"{type(exc).__name__}: {exc}")
        except Exception:  # noqa: BLE001 - the call's own error is the one to raise
            log.warning("ledger.release_failed", key=key)

    def perform(
        self,
        key: str,
        effect: str,
        call: Callable[[], Result],
        lookup: Callable[[], Result | None] | None = None,
        *,
        opened: tuple[Entry, bool] | None = None,
    ) -> Outcome:
        """Run ``call`` once for ``key`` across every retry and every worker.

        ``opened`` is what ``open_in`` returned for ``key``, committed.
        """
        entry, leased = opened or self._open(key, effect)

        if entry.state == "done":
            return Outcome(entry.result, performed=False)
        if entry.state == "failed":
            raise DeliveryError(
                f"{effect} {key} failed permanently before: {entry.error}",
                permanent=True,
            )
        if not leased:
            raise EffectInFlightError(
                f"{effect} {key} is being performed by another worker",
                until=entry.lease_expires_at,
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
            settled = self._settled.pop(key, None)
            if settled is not None:
                # Done and on record before the failure: the effect happened.
                return Outcome(settled, performed=True)
            state = "failed" if exc.permanent else "pending"
            self._finish(key, state, {}, str(exc))
            raise
        except Exception as exc:
            self._settled.pop(key, None)
            self._release(key, exc)
            raise
        except BaseException:
            self._settled.pop(key, None)
            raise

        if self._settled.pop(key, None) is None:
            self._finish(key, "done", result, None)
        return Outcome(result, performed=True)
