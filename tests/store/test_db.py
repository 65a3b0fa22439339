"""The database: SQLite's writer lock (one writer at a time in a process,
waiting on a Python lock rather than SQLite's sleeping busy handler), and
error texts that keep statement parameters out of the log."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from firsttouch.store import db as db_module
from firsttouch.store.db import Database, WriterLock


def _held_elsewhere(db: Database) -> bool:
    """True if another thread cannot take ``db``'s writer lock right now."""
    taken: list[bool] = []

    def probe() -> None:
        lock = db._write_lock
        assert lock is not None
        got = lock.acquire(blocking=False)
        if got:
            lock.release()
        taken.append(got)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return not taken[0]


def _count_opt_outs(db: Database) -> int:
    with db.sessions() as session:
        return int(session.execute(text("SELECT count(*) FROM opt_outs")).scalar_one())


def _insert_opt_out(conn: object, address: str) -> None:
    conn.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO opt_outs (channel, address, source, active, created_at) "
            "VALUES ('email', :a, 'test', 1, '2026-03-10 14:00:00')"
        ),
        {"a": address},
    )


def test_a_write_transaction_holds_the_lock_until_it_commits(db: Database) -> None:
    assert not _held_elsewhere(db)
    with db.transaction() as session:
        _insert_opt_out(session, "a@example.com")
        assert _held_elsewhere(db)
    assert not _held_elsewhere(db)
    with db.write_connection() as conn:
        _insert_opt_out(conn, "b@example.com")
        assert _held_elsewhere(db)
    assert not _held_elsewhere(db)
    assert _count_opt_outs(db) == 2


def test_the_lock_is_let_go_when_the_transaction_rolls_back(db: Database) -> None:
    try:
        with db.transaction() as session:
            _insert_opt_out(session, "a@example.com")
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    assert not _held_elsewhere(db)
    assert _count_opt_outs(db) == 0
    # The connection writers share is clean again for the next one.
    with db.write_connection() as conn:
        _insert_opt_out(conn, "b@example.com")
    assert _count_opt_outs(db) == 1


def test_a_second_writer_thread_waits_for_the_first_to_commit(db: Database) -> None:
    inside = threading.Event()
    seen: list[int] = []

    def second() -> None:
        inside.wait()
        with db.transaction() as session:
            seen.append(
                int(session.execute(text("SELECT count(*) FROM opt_outs")).scalar_one())
            )
            _insert_opt_out(session, "second@example.com")

    thread = threading.Thread(target=second)
    thread.start()
    with db.transaction() as session:
        _insert_opt_out(session, "first@example.com")
        inside.set()
    thread.join()
    # The second began after the first committed: it saw the first's row.
    assert seen == [1]
    assert _count_opt_outs(db) == 2


def test_the_lock_counts_its_turns_and_the_time_held_and_waited(
    tmp_path: Path,
) -> None:
    """What /metrics shows: a holder keeps it 50 ms while another waits."""
    lock = WriterLock(tmp_path / "x.db-writer.lock")
    holding, waiting = threading.Event(), threading.Event()

    def second() -> None:
        holding.wait()
        waiting.set()
        lock.acquire()
        lock.release()

    thread = threading.Thread(target=second)
    thread.start()
    lock.acquire()
    lock.acquire()  # re-entered: still one turn
    holding.set()
    waiting.wait()
    time.sleep(0.05)
    lock.release()
    lock.release()
    thread.join()

    stats = lock.stats()
    assert stats.turns == 2
    assert stats.held_seconds >= 0.05
    # The second asked before the 50 ms sleep began and got it after.
    assert stats.waited_seconds >= 0.04


def test_a_transaction_opened_inside_another_in_one_thread_still_works(
    db: Database,
) -> None:
    # The outer one has not written yet, so SQLite holds no lock for it; the
    # re-entrant writer lock must not be what blocks the inner one.
    with db.transaction() as outer:
        with db.transaction() as inner:
            _insert_opt_out(inner, "inner@example.com")
        _insert_opt_out(outer, "outer@example.com")
    assert _count_opt_outs(db) == 2


def test_databases_on_one_file_share_the_lock(db: Database) -> None:
    other = Database(db.url)
    try:
        with other.transaction():
            assert _held_elsewhere(db)
    finally:
        other.dispose()


def test_a_commit_on_the_shared_connection_still_wakes_workers(db: Database) -> None:
    from firsttouch.jobs.queue import enqueue
    from firsttouch.jobs.waker import local_waker

    before = local_waker.generation()
    with db.transaction() as session:
        enqueue(session, "k")
        assert local_waker.generation() == before  # not before the commit
    assert local_waker.generation() != before


def test_a_write_after_dispose_opens_a_fresh_connection(db: Database) -> None:
    with db.write_connection() as conn:
        _insert_opt_out(conn, "a@example.com")
    db.dispose()
    with db.transaction() as session:
        _insert_opt_out(session, "b@example.com")
    assert _count_opt_outs(db) == 2


def _synchronous(conn: object) -> int:
    return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())  # type: ignore[attr-defined]


def test_no_commit_syncs_while_holding_the_writer_lock(db: Database) -> None:
    """The writer's connection commits without fsync; see the next tests."""
    normal = 1
    with db.write_connection(durable=False) as conn:
        _insert_opt_out(conn, "a@example.com")
        assert _synchronous(conn) == normal
    with db.write_connection() as conn:
        assert _synchronous(conn) == normal
    with db.transaction() as session:
        _insert_opt_out(session, "b@example.com")
        assert _synchronous(session.connection()) == normal
    assert _count_opt_outs(db) == 2


def _spy_on_fsync(
    monkeypatch: pytest.MonkeyPatch, db: Database
) -> list[tuple[str, bool]]:
    """Record each fsync: the file, and whether another writer could commit
    meanwhile (a thread's write finishing while the fsync waits)."""
    calls: list[tuple[str, bool]] = []
    real = db_module._fsync

    def spy(path: Path, *, fallback: Path) -> None:
        def other_writer() -> None:
            with db.write_connection(durable=False) as conn:
                _insert_opt_out(conn, f"other-{len(calls)}@example.com")

        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join(timeout=5)
        calls.append((path.name, not thread.is_alive()))
        real(path, fallback=fallback)

    monkeypatch.setattr(db_module, "_fsync", spy)
    return calls


def test_a_durable_commit_syncs_the_log_once_the_lock_is_free(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy_on_fsync(monkeypatch, db)
    wal = f"{Path(db.engine.url.database or '').name}-wal"

    with db.write_connection() as conn:
        _insert_opt_out(conn, "a@example.com")
    assert calls == [(wal, True)]

    with db.transaction() as session:
        _insert_opt_out(session, "b@example.com")
    assert calls == [(wal, True), (wal, True)]


def test_a_write_that_may_be_lost_is_not_synced(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy_on_fsync(monkeypatch, db)
    with db.write_connection(durable=False) as conn:
        _insert_opt_out(conn, "a@example.com")
    with db.transaction(durable=False) as session:
        _insert_opt_out(session, "b@example.com")
    assert calls == []
    assert _count_opt_outs(db) == 2


def test_one_fsync_covers_every_commit_made_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    monkeypatch.setattr(
        db_module, "_fsync", lambda path, *, fallback: synced.append(path)
    )
    lock = WriterLock(tmp_path / "x.db-writer.lock", tmp_path / "x.db-wal")
    first, second = lock.committed(), lock.committed()

    lock.sync(first)
    lock.sync(second)  # written before the first sync began: covered by it
    assert synced == [tmp_path / "x.db-wal"]

    lock.sync(lock.committed())
    assert len(synced) == 2


def test_another_process_waits_for_the_file_lock(db: Database) -> None:
    """A second firsttouch process (a worker, more web processes) queues too."""
    import subprocess
    import sys

    path = f"{db.engine.url.database}-writer.lock"
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from firsttouch.store.db import WriterLock\n"
        "lock = WriterLock(Path(sys.argv[1]))\n"
        "got = lock.acquire(blocking=False)\n"
        "print('took' if got else 'busy')\n"
    )

    def other_process() -> str:
        done = subprocess.run(  # noqa: S603 - our interpreter, our probe
            [sys.executable, "-c", probe, path],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    with db.write_connection() as conn:
        _insert_opt_out(conn, "a@example.com")
        assert other_process() == "busy"
    assert other_process() == "took"


def test_a_failed_statement_does_not_quote_its_parameters(any_db: Database) -> None:
    # Error texts reach logs and tracebacks: a buyer's details must not.
    with pytest.raises(DBAPIError) as failed, any_db.engine.connect() as conn:
        conn.execute(
            text("INSERT INTO no_such_table (email) VALUES (:email)"),
            {"email": "priya@fernhill-clinics.example"},
        )
    assert "priya@fernhill-clinics.example" not in str(failed.value)
    assert "hidden due to hide_parameters" in str(failed.value)
