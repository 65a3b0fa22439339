"""A worker process for the queue benchmark: our queue, or a peer's.

Usage: python _queue_worker.py SYSTEM DSN [LATENCY_FILE]
SYSTEM is firsttouch, procrastinate or pgqueuer. It prints READY once it
is waiting for work and runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path


def run_firsttouch(dsn: str, latency_file: Path | None) -> None:
    from firsttouch.clock import SystemClock
    from firsttouch.jobs.runner import JobContext, Worker
    from firsttouch.store.db import Database

    started: list[str] = []

    def latency(ctx: JobContext) -> None:
        started.append(f"{ctx.payload['t']} {time.time()}")

    worker = Worker(
        Database(dsn, pool_size=2),
        {"system.noop": lambda ctx: None, "bench.latency": latency},
        SystemClock(),
        batch=100,
        poll_seconds=0.5,
    )
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    print("READY", flush=True)
    worker.run_forever()
    if latency_file:
        latency_file.write_text("\n".join(started))


def run_procrastinate(dsn: str) -> None:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))

    @app.task(name="noop")
    def noop() -> None:
        return None

    async def main() -> None:
        async with app.open_async():
            print("READY", flush=True)
            await app.run_worker_async(concurrency=1, install_signal_handlers=True)

    asyncio.run(main())


def run_pgqueuer(dsn: str) -> None:
    import psycopg
    from pgqueuer import PsycopgDriver, Queries, QueueManager

    async def main() -> None:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        manager = QueueManager(Queries(PsycopgDriver(conn)))

        @manager.entrypoint("noop")
        async def noop(job: object) -> None:
            return None

        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, manager.shutdown.set)
        print("READY", flush=True)
        await manager.run(
            batch_size=100,
            dequeue_timeout=__import__("datetime").timedelta(seconds=0.5),
        )

    asyncio.run(main())


if __name__ == "__main__":
    system, dsn = sys.argv[1], sys.argv[2]
    latency = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    {
        "firsttouch": lambda: run_firsttouch(dsn, latency),
        "procrastinate": lambda: run_procrastinate(dsn),
        "pgqueuer": lambda: run_pgqueuer(dsn),
    }[system]()
