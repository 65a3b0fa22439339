"""PostgreSQL: a group of accepted events and their ingest jobs in one statement.

Through the ORM session a group cost six trips to the server (the pool's
ping, BEGIN, the inbounds insert, the jobs insert, NOTIFY, COMMIT), and
their Python cost more CPU than the rows themselves: groups are small (a
few requests each) when the writer keeps up. So on PostgreSQL the accept
writer keeps one connection of its own in autocommit and sends one
statement per group. One statement is one transaction: the inbounds, their
jobs and the NOTIFY commit together or not at all.

- The rows travel as one JSON array (``store.recordset``), each with its
  place in the group and the event its job carries.
- The inbounds insert skips a key already stored and returns the new rows.
  It goes in key order: two writers' groups that share keys then take
  their locks in the same order and wait for one another, never deadlock.
- The jobs insert queues one ``capture.ingest`` per new row, keyed on the
  row, with the event of the group's first row under that key.
- ``pg_notify`` wakes the workers at commit, once, and only when a row was new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table

from firsttouch.jobs.queue import DEFAULT_MAX_ATTEMPTS, keyed_insert_sql_pg
from firsttouch.jobs.waker import CHANNEL
from firsttouch.store.models import Inbound
from firsttouch.store.recordset import Records

_INBOUNDS = cast(Table, Inbound.__table__)


class GroupInsert:
    """Insert a group's inbounds (``columns``) and their ``job_kind`` jobs."""

    def __init__(self, columns: Sequence[str], job_kind: str, key_prefix: str):
        self._records = Records(_INBOUNDS, columns)
        names, types = self._records.names, self._records.types
        jobs = keyed_insert_sql_pg(
            "SELECT %(kind)s AS kind, "
            "jsonb_build_object('inbound_id', ins.id, 'event', first.event) "
            "AS payload, %(now)s AS due_at, %(max_attempts)s AS max_attempts, "
            "%(key_prefix)s::text || ins.id AS idempotency_key, %(now)s AS created_at "
            "FROM ins JOIN (SELECT DISTINCT ON (dedupe_key) dedupe_key, event "
            "FROM r ORDER BY dedupe_key, n) AS first USING (dedupe_key)"
        )
        # The NOTIFY is an InitPlan: evaluated once, and only if a row is
        # returned (a group of retries wakes nobody).
        self.sql = (
            "WITH r AS (SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) "
            f'AS r({types}, "n" integer, "event" jsonb)), '
            f'ins AS (INSERT INTO "{_INBOUNDS.name}" ({names}) '
            f'SELECT {names} FROM r ORDER BY "dedupe_key", "n" '
            'ON CONFLICT ("dedupe_key") DO NOTHING RETURNING "id", "dedupe_key"), '
            f"queued AS ({jobs}) "
            "SELECT ins.id, ins.dedupe_key, (SELECT pg_notify(%(channel)s::text, '')) "
            "FROM ins"
        )
        self._kind = job_kind
        self._key_prefix = key_prefix

    def params(
        self,
        rows: Sequence[dict[str, Any]],
        events: Sequence[dict[str, Any]],
        now: datetime,
    ) -> dict[str, Any]:
        """The statement's parameters for ``rows`` and their jobs' ``events``."""
        extra = [{"n": n, "event": event} for n, event in enumerate(events)]
        return {
            "rows": self._records.encode(rows, extra),
            "kind": self._kind,
            "now": now,
            "max_attempts": DEFAULT_MAX_ATTEMPTS,
            "key_prefix": self._key_prefix,
            "channel": CHANNEL,
        }


# The stored rows of some keys: a retry's first row, a form's earlier key.
FIND_KEYS = (
    f'SELECT "dedupe_key", "id", "received_at" FROM "{_INBOUNDS.name}" '
    'WHERE "dedupe_key" = ANY(%s)'
)
