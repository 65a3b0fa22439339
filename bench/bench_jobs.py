"""Queue throughput and start latency, with procrastinate and pgqueuer as peers.

Figures (one line each):
  jobs_per_s_sqlite_1w, jobs_per_s_pg_1w, jobs_per_s_pg_4w  (enqueue + claim +
  run + commit of no-op jobs, from the first enqueue to the last completion,
  workers already waiting), job_start_p50_ms / job_start_p99_ms (commit of an
  enqueue to the handler starting, one job at a time at 50/s, PostgreSQL with
  LISTEN/NOTIFY). Peers drain the same number of no-op jobs the same way on
  the same server with the same number of worker processes.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pg import fresh_database
from sqlalchemy import create_engine, text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
JOBS = int(os.environ.get("FIRSTTOUCH_BENCH_JOBS", "20000"))
DRAIN_LIMIT_S = 180


def line(name: str, value: float, unit: str, target: str, **peer: object) -> None:
    extra = "".join(f" {k}={v}" for k, v in peer.items())
    print(
        f"bench: {name} value={value:.1f} unit={unit} target={target}{extra}",
        flush=True,
    )


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def workers(
    system: str, dsn: str, count: int, latency_file: Path | None = None
) -> Iterator[None]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FIRSTTOUCH_LOG_LEVEL": "WARNING"}
    args = [sys.executable, str(HERE / "_queue_worker.py"), system, dsn]
    if latency_file:
        args.append(str(latency_file))
    procs = [
        subprocess.Popen(  # noqa: S603 - our own worker script
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        for _ in range(count)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            while proc.stdout.readline().strip() != "READY":
                if proc.poll() is not None:
                    raise RuntimeError(f"{system} worker exited with {proc.returncode}")
        time.sleep(0.3)
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def drain(enqueue: Callable[[], None], remaining: Callable[[], int]) -> float:
    """Enqueue everything, wait for zero remaining; return jobs per second."""
    started = time.perf_counter()
    enqueue()
    deadline = started + DRAIN_LIMIT_S
    while remaining() > 0:
        if time.perf_counter() > deadline:
            return float("nan")
        time.sleep(0.02)
    return JOBS / (time.perf_counter() - started)


def firsttouch_rate(url: str, worker_count: int) -> float:
    from firsttouch.jobs.queue import enqueue_many
    from firsttouch.store import migrate
    from firsttouch.store.db import Database

    migrate.upgrade(url)
    db = Database(url)

    def enqueue() -> None:
        for start in range(0, JOBS, 2000):
            with db.transaction() as session:
                enqueue_many(
                    session, [{"kind": "system.noop"}] * min(2000, JOBS - start)
                )

    def remaining() -> int:
        with db.engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM jobs WHERE state <> 'done'")
                ).scalar()
                or 0
            )

    with workers("firsttouch", url, worker_count):
        rate = drain(enqueue, remaining)
    db.dispose()
    return rate


def start_latency(url: str) -> tuple[float, float]:
    from firsttouch.jobs.queue import enqueue
    from firsttouch.store import migrate
    from firsttouch.store.db import Database

    migrate.upgrade(url)
    db = Database(url)
    latency_file = Path(tempfile.mkdtemp()) / "latency.txt"
    with workers("firsttouch", url, 1, latency_file):
        for _ in range(300):
            # The timestamp is taken before the commit, so commit time counts
            # against us: the figure is an upper bound.
            with db.transaction() as session:
                enqueue(session, "bench.latency", {"t": time.time()})
            time.sleep(0.02)
        time.sleep(1.0)
    db.dispose()
    return _latencies(latency_file)


def _latencies(path: Path) -> tuple[float, float]:
    samples = []
    for row in path.read_text().splitlines():
        enq, began = row.split()
        samples.append(max(0.0, float(began) - float(enq)) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return p50, p99


def procrastinate_rate(url: str, worker_count: int) -> float:
    import procrastinate

    dsn = libpq(url)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))

    @app.task(name="noop")
    def noop() -> None:
        return None

    async def install() -> None:
        async with app.open_async():
            await app.schema_manager.apply_schema_async()

    async def defer() -> None:
        async with app.open_async():
            for start in range(0, JOBS, 2000):
                await noop.batch_defer_async(*[{}] * min(2000, JOBS - start))

    asyncio.run(install())
    engine = create_engine(url)

    def remaining() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM procrastinate_jobs"
                        " WHERE status <> 'succeeded'"
                    )
                ).scalar()
                or 0
            )

    with workers("procrastinate", dsn, worker_count):
        rate = drain(lambda: asyncio.run(defer()), remaining)
    engine.dispose()
    return rate


def pgqueuer_rate(url: str, worker_count: int) -> float:
    import psycopg
    from pgqueuer import PsycopgDriver, Queries

    dsn = libpq(url)

    async def install() -> None:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        await Queries(PsycopgDriver(conn)).install()
        await conn.close()

    async def enqueue() -> None:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        queries = Queries(PsycopgDriver(conn))
        for start in range(0, JOBS, 2000):
            size = min(2000, JOBS - start)
            await queries.enqueue(["noop"] * size, [None] * size, [0] * size)
        await conn.close()

    asyncio.run(install())
    engine = create_engine(url)

    def remaining() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(*) FROM pgqueuer")).scalar() or 0
            )

    with workers("pgqueuer", dsn, worker_count):
        rate = drain(lambda: asyncio.run(enqueue()), remaining)
    engine.dispose()
    return rate


def claim_ms(url: str, backlog: int, claims: int = 200) -> float:
    """Milliseconds a claim of 10 first touches takes behind ``backlog``."""
    from datetime import UTC, datetime, timedelta

    from firsttouch.clock import VirtualClock
    from firsttouch.jobs.queue import JobQueue, KeyedJob, enqueue_keyed
    from firsttouch.store import migrate
    from firsttouch.store.db import Database
    from firsttouch.worker import PRIORITIES

    migrate.upgrade(url)
    db = Database(url)
    clock = VirtualClock(datetime(2026, 3, 10, 14, 0, tzinfo=UTC))
    now = clock.now()
    jobs = [KeyedJob("qualify.inbound", f"q{n}", {}) for n in range(backlog)]
    jobs += [
        KeyedJob("respond.sla_check", f"s{n}", {}, due_at=now + timedelta(minutes=5))
        for n in range(backlog)
    ]
    touches = (claims + 1) * 10
    jobs += [KeyedJob("respond.first_touch", f"f{n}", {}) for n in range(touches)]
    with db.transaction() as session:
        enqueue_keyed(session, jobs, now - timedelta(seconds=1))
    queue = JobQueue(db, clock, priorities=PRIORITIES)
    queue.claim("bench", 10, lease_seconds=60)  # compiles the statement
    started = time.perf_counter()
    for _ in range(claims):
        queue.claim("bench", 10, lease_seconds=60)
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed / claims * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        sqlite_rate = firsttouch_rate(f"sqlite:///{folder}/bench.db", 1)
    line("jobs_per_s_sqlite_1w", sqlite_rate, "jobs/s", ">=500")
    for backlog in (0, 5000):
        with tempfile.TemporaryDirectory() as folder:
            cost = claim_ms(f"sqlite:///{folder}/claim.db", backlog)
        line(f"jobs_claim_ms_backlog_{backlog}", cost, "ms", "info")

    with fresh_database() as url:
        pg_1w = firsttouch_rate(url, 1)
    line("jobs_per_s_pg_1w", pg_1w, "jobs/s", ">=500")

    with fresh_database() as url:
        pg_4w = firsttouch_rate(url, 4)
    peers: dict[str, float] = {}
    for name, measure in (
        ("procrastinate", procrastinate_rate),
        ("pgqueuer", pgqueuer_rate),
    ):
        try:
            with fresh_database() as peer_url:
                peers[name] = measure(peer_url, 4)
        except Exception as exc:  # noqa: BLE001 - a broken peer must not hide our figure
            print(f"# peer {name} failed: {type(exc).__name__}: {exc}", flush=True)
    for name, value in peers.items():
        line(
            "jobs_per_s_pg_4w",
            pg_4w,
            "jobs/s",
            ">=2000",
            peer=name,
            peer_value=f"{value:.1f}",
            ratio=f"{pg_4w / value:.2f}",
        )
    if not peers:
        line("jobs_per_s_pg_4w", pg_4w, "jobs/s", ">=2000")

    with fresh_database() as url:
        p50, p99 = start_latency(url)
    line("job_start_p50_ms", p50, "ms", "<100")
    line("job_start_p99_ms", p99, "ms", "<300")


if __name__ == "__main__":
    main()
