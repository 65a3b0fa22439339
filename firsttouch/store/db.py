"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout and foreign keys on. A write
transaction (``Database.transaction``) starts with ``BEGIN IMMEDIATE`` so two
writers queue for the lock instead of failing half-way with ``database is
locked``; a read session (``Database.sessions``) starts a plain deferred
``BEGIN`` and never takes the write lock, so the dashboard reads while the
worker writes.

SQLite writers also queue on a ``WriterLock`` taken before ``BEGIN
IMMEDIATE`` and released after the commit: a Python lock between the
threads of one process and a file lock between processes. A writer that
finds the file locked otherwise sleeps in SQLite's busy handler (1, 2, 5,
10 ms and more) and wakes late; a writer waiting on the lock wakes (within
half a millisecond at most, across processes) when the holder commits. The
lock is re-entrant, so a transaction opened inside another in the same
thread behaves as it did without it, and threads get it in the order they
asked (``FairRLock``).

The writer commits without its own fsync (``synchronous=NORMAL`` on its
connection); a durable write's ``transaction`` or ``write_connection``
fsyncs the write-ahead log once the lock is free and returns only then.
The next writer's turn overlaps the wait for the disk, and writers that
finish together share one fsync (``WriterLock.sync``).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from firsttouch.store.fair_lock import FairRLock

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option that marks a connection's transactions as writes.
WRITE_OPTION = "firsttouch_writes"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs; leave other URLs alone."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _: Any) -> None:
        # Take transaction control away from the driver so BEGIN IMMEDIATE
        # below is the only BEGIN that is ever sent.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a 2xx promises the inbound survives a power cut, not just a crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        writes = conn.get_execution_options().get(WRITE_OPTION, False)
        # Straight to the driver: this runs for every transaction, and the
        # statement needs none of SQLAlchemy's execution machinery.
        conn.connection.driver_connection.execute(
            "BEGIN IMMEDIATE" if writes else "BEGIN"
        )


@dataclass(frozen=True)
class WriterStats:
    """Turns on a SQLite writer lock, and the seconds held and waited for."""

    turns: int
    held_seconds: float
    waited_seconds: float


class WriterLock:
    """Who may write to one SQLite file now: a thread here, a process there.

    Threads of this process queue on a re-entrant lock, served in the order
    they came (``FairRLock``). The thread that
    takes it from free also takes an exclusive ``flock`` on a file beside
    the database, which other firsttouch processes (a worker, more web
    processes) queue on; it lets go when the outermost hold ends. A waiting
    process polls the file lock every half a millisecond at most, where
    SQLite's busy handler would sleep 1, 2, 5, 10 ms and more.
    """

    def __init__(self, path: Path | None, wal: Path | None = None):
        self._threads = FairRLock()
        self._depth = 0
        # Turns taken by this process, and the seconds they held the lock
        # and waited for it (``stats``): a lock busy nearly all the time is
        # what limits a SQLite deployment.
        self._turns = 0
        self._held = 0.0
        self._waited = 0.0
        self._taken_at = 0.0
        self._path = path
        self._wal = wal
        # Commits made without their own fsync, and how many are synced.
        self._commits = 0
        self._synced = 0
        self._sync_guard = threading.Lock()
        # Open only while held: a process may open many databases (a test
        # run opens hundreds) and must not keep a descriptor for each.
        self._fd: int | None = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock as ``threading.RLock.acquire`` would; False if not."""
        if not blocking:
            timeout = 0
        asked_at = time.monotonic()
        forever = timeout < 0
        deadline = float("inf") if forever else time.monotonic() + timeout
        taken = (
            self._threads.acquire(timeout=timeout)
            if blocking
            else self._threads.acquire(blocking=False)
        )
        if not taken:
            return False
        if self._depth == 0 and not self._lock_file(deadline):
            self._threads.release()
            return False
        if self._depth == 0:
            self._taken_at = time.monotonic()
            self._waited += self._taken_at - asked_at
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._turns += 1
            self._held += time.monotonic() - self._taken_at
        if self._depth == 0 and self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        self._threads.release()

    def stats(self) -> WriterStats:
        """This process's turns so far, and the seconds held and waited."""
        return WriterStats(self._turns, self._held, self._waited)

    @property
    def syncs_after(self) -> bool:
        """True when durable commits fsync after letting go (a file database)."""
        return self._wal is not None

    def committed(self) -> int:
        """Count a commit made without its fsync; call it holding the lock."""
        self._commits += 1
        return self._commits

    def sync(self, ticket: int) -> None:
        """Return once commit ``ticket`` (from ``committed``) is on disk.

        One fsync of the write-ahead log covers every commit counted before
        it, so writers finishing together share it (a group commit). Frames
        a checkpoint already moved into the database file were synced by
        that checkpoint (SQLite does so in ``synchronous=NORMAL``).
        """
        assert self._wal is not None
        with self._sync_guard:
            if self._synced >= ticket:
                return
            covered = self._commits
            _fsync(self._wal, fallback=self._wal.with_name(self._wal.name[:-4]))
            self._synced = covered

    def _lock_file(self, deadline: float) -> bool:
        if self._path is None:
            return True
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            # A read-only folder: SQLite's own lock still keeps writes apart.
            return True
        pause = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.0005)


def _fsync(path: Path, *, fallback: Path) -> None:
    """fsync ``path``; if it is gone (the log was checkpointed and removed
    as the last connection closed), the database file ``fallback``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        fd = os.open(fallback, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# One writer lock per SQLite database in this process, shared by every
# ``Database`` opened on the same URL.
_WRITE_LOCKS: dict[str, WriterLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock_for(url: str) -> WriterLock:
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(url)
        if lock is None:
            database = make_url(url).database
            on_disk = bool(database) and database != ":memory:"
            path = Path(f"{database}-writer.lock") if on_disk else None
            wal = Path(f"{database}-wal") if on_disk else None
            lock = _WRITE_LOCKS[url] = WriterLock(path, wal)
        return lock


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the settings firsttouch relies on."""
    url = normalise_url(url)
    parsed = make_url(url)
    # A failed statement's error text would carry its parameters: buyers'
    # addresses and names, into logs and tracebacks.
    kwargs.setdefault("hide_parameters", True)

    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _prepare_sqlite(engine)
        return engine

    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class Database:
    """An engine and its session factory; the one handle layers are given."""

    def __init__(self, url: str, **engine_kwargs: Any):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)
        self._write_lock = _write_lock_for(self.url) if self.is_sqlite else None
        # SQLite only: the connection the lock holder writes on. Writes take
        # turns anyway, and checking a connection out of the pool and back
        # for every transaction cost more than a short transaction itself.
        self._pinned: Connection | None = None
        self._pinned_in_use = False

    def writer_stats(self) -> WriterStats | None:
        """The SQLite writer lock's figures in this process; None on PostgreSQL."""
        return self._write_lock.stats() if self._write_lock is not None else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Session]:
        """Yield a session whose work commits on exit or rolls back on error.

        ``durable=False`` as for ``write_connection`` (a write nested in
        another of the same thread stays durable).
        """
        ticket = 0
        with self._writer() as pinned:
            if pinned is None:
                with self._write_sessions() as session, session.begin():
                    yield session
                return
            with (
                self._synchronous(pinned, durable),
                self._write_sessions(bind=pinned) as session,
                session.begin(),
            ):
                yield session
            ticket = self._committed(durable)
        self._sync(ticket)

    @contextmanager
    def write_connection(self, *, durable: bool = True) -> Iterator[Connection]:
        """Like ``transaction`` but a Core connection: for hot paths with no ORM.

        ``durable=False`` is for writes that may be lost to a power cut (not
        to a crash) because losing them only makes work run again, such as a
        job's claim or completion: on SQLite the commit then skips its fsync.
        A later durable commit syncs the log, this one included, so after a
        power cut the database is still some prefix of what was committed.
        """
        ticket = 0
        with self._writer() as pinned:
            if pinned is None:
                with (
                    self._write_engine.connect() as conn,
                    self._synchronous(conn, durable),
                    conn.begin(),
                ):
                    yield conn
                return
            with self._synchronous(pinned, durable), pinned.begin():
                yield pinned
            ticket = self._committed(durable)
        self._sync(ticket)

    def _committed(self, durable: bool) -> int:
        """After a commit on the pinned connection, still holding the lock:
        the ticket to sync for a durable one (0: nothing to wait for)."""
        lock = self._write_lock
        if not durable or lock is None or not lock.syncs_after:
            return 0
        return lock.committed()

    def _sync(self, ticket: int) -> None:
        # After letting go of the lock: the next writer runs while this
        # one waits for the disk, and writers waiting together share one
        # fsync. Nobody is told "stored" before it returns.
        if ticket:
            assert self._write_lock is not None
            self._write_lock.sync(ticket)

    @contextmanager
    def _synchronous(self, conn: Connection, durable: bool) -> Iterator[None]:
        if durable or not self.is_sqlite or conn is self._pinned:
            # The pinned connection never syncs in its commit (see
            # ``_pinned_connection``); a durable commit syncs after it.
            yield
            return
        # Outside the transaction: SQLite ignores the pragma inside one.
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("PRAGMA synchronous=NORMAL")
        try:
            yield
        finally:
            driver.execute("PRAGMA synchronous=FULL")

    @contextmanager
    def _writer(self) -> Iterator[Connection | None]:
        """Hold the writer lock; yield the pinned connection, or None for the pool."""
        lock = self._write_lock
        if lock is None:
            yield None
            return
        # A holder that never lets go (a test holding a transaction open while
        # it waits for another thread) must not hang the waiter for ever: past
        # SQLite's own busy timeout, go on without the lock, and SQLite's lock
        # decides as it did before this one existed.
        held = lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            if not held or self._pinned_in_use:
                # Without the lock, or nested inside this thread's own write:
                # a connection of its own, as before the pinning.
                yield None
                return
            self._pinned_in_use = True
            try:
                yield self._pinned_connection()
            finally:
                self._pinned_in_use = False
        finally:
            if held:
                lock.release()

    def _pinned_connection(self) -> Connection:
        conn = self._pinned
        if conn is not None and conn.invalidated:
            conn.close()
            conn = None
        if conn is None or conn.closed:
            conn = self._pinned = self._write_engine.connect()
            if self._write_lock is not None and self._write_lock.syncs_after:
                # Commits on it skip their fsync, and durable ones are synced
                # once the writer lock is free (``WriterLock.sync``).
                driver = conn.connection.driver_connection
                assert driver is not None
                driver.execute("PRAGMA synchronous=NORMAL")
        elif conn.in_transaction():
            conn.rollback()  # left open by a failure we did not see end
        return conn

    def dispose(self) -> None:
        if self._pinned is not None:
            self._pinned.close()
            self._pinned = None
        self.engine.dispose()
