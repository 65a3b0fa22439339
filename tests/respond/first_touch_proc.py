"""A worker process for the crash test: runs respond jobs, sending to an SMTP
sink, and holds still right after the server accepted a message so the test
can SIGKILL it between the send and the commit that records it.

Usage: python first_touch_proc.py DB_URL SMTP_PORT
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from firsttouch.channels.outbox import OutboxSms
from firsttouch.channels.smtp import SmtpEmail
from firsttouch.clock import SystemClock
from firsttouch.config import Settings
from firsttouch.jobs.runner import Worker
from firsttouch.respond.handlers import handlers
from firsttouch.respond.senders import SERVICE, Senders
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.workspace import load_workspace

WORKSPACE = Path(__file__).resolve().parents[2] / "examples" / "workspace"


def main() -> None:
    url, port = sys.argv[1], int(sys.argv[2])
    db = Database(url)
    clock = SystemClock()
    runtime = Runtime(
        Settings(database_url=url, workspace_path=WORKSPACE),
        db,
        load_workspace(WORKSPACE),
        clock,
    )
    runtime.services[SERVICE] = Senders(
        email=SmtpEmail("127.0.0.1", port, security="none", pause_after_send=3600),
        sms=OutboxSms(db, clock),
        from_address="hello@northwindledger.example",
        from_name="Northwind Ledger",
    )
    worker = Worker(
        db,
        handlers(runtime),
        clock,
        worker_id="doomed",
        lease_seconds=30,
        poll_seconds=0.05,
    )
    print("STARTED", flush=True)
    while True:
        if worker.run_once() == 0:
            time.sleep(0.05)


if __name__ == "__main__":
    main()
