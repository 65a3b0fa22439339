"""Wake idle workers as soon as a job is committed.

In one process a condition variable does it; across processes PostgreSQL's
LISTEN/NOTIFY does (the NOTIFY is sent inside the enqueueing transaction, so
it is delivered only if that transaction commits).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

CHANNEL = "firsttouch_jobs"


class Waker:
    """A counter that workers wait on and committing enqueuers bump."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def generation(self) -> int:
        with self._cond:
            return self._generation

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait until something is enqueued after ``seen`` or ``timeout`` passes."""
        with self._cond:
            return self._cond.wait_for(lambda: self._generation != seen, timeout)


local_waker = Waker()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("jobs_enqueued", False):
        local_waker.notify()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("jobs_enqueued", None)


def mark_enqueued(session: Session) -> None:
    """Note that this session's commit should wake workers."""
    session.info["jobs_enqueued"] = True


def listen_forever(dsn: str, waker: Waker, stop: threading.Event) -> None:
    """Relay PostgreSQL notifications on ``CHANNEL`` to ``waker`` until stopped."""
    import psycopg

    while not stop.is_set():
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                while not stop.is_set():
                    for _ in conn.notifies(timeout=1.0, stop_after=1):
                        waker.notify()
        except psycopg.OperationalError:
            # The database went away; polling still runs, so try again shortly.
            stop.wait(1.0)


def libpq_dsn(sqlalchemy_url: Any) -> str:
    """Turn a SQLAlchemy URL into a libpq connection string."""
    url = sqlalchemy_url.set(drivername="postgresql")
    return str(url.render_as_string(hide_password=False))
