"""A worker process for the crash tests: runs ``test.effect`` jobs.

The effect appends the job's key to a file, through the ledger. The payload
can ask it to stop dead (sleep) before or after the effect, so the test can
SIGKILL it at exactly that point.

Usage: python worker_proc.py DB_URL EFFECT_FILE LEASE_SECONDS [WORKER_ID]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from firsttouch.clock import SystemClock
from firsttouch.jobs.ledger import Ledger
from firsttouch.jobs.runner import JobContext, Worker
from firsttouch.store.db import Database


def main() -> None:
    url, effect_file, lease = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    worker_id = sys.argv[4] if len(sys.argv) > 4 else None
    db = Database(url)
    clock = SystemClock()
    ledger = Ledger(db, clock, lease_seconds=lease)

    def already_done(key: str) -> dict[str, str] | None:
        lines = effect_file.read_text().splitlines() if effect_file.exists() else []
        return {"found": key} if key in lines else None

    def effect(ctx: JobContext) -> None:
        key = ctx.payload["key"]
        hang = ctx.payload.get("hang")
        # Only the first attempt hangs; the retry runs straight through.
        first = ctx.job.attempts == 1

        def call() -> dict[str, str]:
            if hang == "before" and first:
                print("READY", flush=True)
                time.sleep(3600)
            with effect_file.open("a") as out:
                out.write(key + "\n")
                out.flush()
            if hang == "after" and first:
                print("READY", flush=True)
                time.sleep(3600)
            return {"written": key}

        ledger.perform(f"test:{key}", "file.append", call, lambda: already_done(key))

    def count(ctx: JobContext) -> None:
        with effect_file.open("a") as out:
            out.write(f"{ctx.job.id}\n")

    worker = Worker(
        db,
        {"test.effect": effect, "test.count": count},
        clock,
        worker_id=worker_id,
        lease_seconds=lease,
        poll_seconds=0.05,
    )
    print("STARTED", flush=True)
    if "--until-empty" in sys.argv:
        idle = 0
        while idle < 20:
            idle = idle + 1 if worker.run_once() == 0 else 0
            if idle:
                time.sleep(0.05)
        return
    worker.run_forever()


if __name__ == "__main__":
    main()
