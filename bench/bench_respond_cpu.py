"""The first touch's own cost, in process: CPU and commits per email sent.

Leads are captured first (not timed); then ``run_first_touch`` answers each
through SMTP to an aiosmtpd sink in a process of its own, so only our side
of the wire is counted. SQLite file (WAL, synchronous=FULL), one thread.

Figures (one line each):
  respond_first_touch_cpu_ms   CPU milliseconds of this process per first
                               touch: load, plan, render, gate, stage, send
                               and record.
  respond_first_touch_commits  commits per first touch.
  respond_first_touch_per_s    first touches a second, one thread (the wall
                               clock includes the sink's replies and fsyncs).

``FIRSTTOUCH_BENCH_PROFILE=N`` also prints the N functions with the most
cumulative CPU time (cProfile).
"""

# S603: the sink is aiosmtpd, run by our own interpreter.
# ruff: noqa: S603

from __future__ import annotations

import cProfile
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from firsttouch.capture.events import InboundEvent, PersonFacts  # noqa: E402
from firsttouch.capture.ingest import ingest  # noqa: E402
from firsttouch.channels.smtp import SmtpEmail  # noqa: E402
from firsttouch.clock import VirtualClock  # noqa: E402
from firsttouch.config import Settings  # noqa: E402
from firsttouch.logs import configure_logging  # noqa: E402
from firsttouch.respond.consent import MailboxLimits  # noqa: E402
from firsttouch.respond.first_touch import run_first_touch  # noqa: E402
from firsttouch.respond.senders import SERVICE, senders  # noqa: E402
from firsttouch.runtime import Runtime  # noqa: E402
from firsttouch.store import migrate  # noqa: E402
from firsttouch.store.db import Database  # noqa: E402
from firsttouch.workspace import load_workspace  # noqa: E402

LEADS = 400
WARM_UP = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    sink = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return sink
        except OSError:
            time.sleep(0.1)
    sink.kill()
    raise SystemExit(f"the SMTP sink did not listen on port {port}")


def lead(i: int) -> InboundEvent:
    return InboundEvent(
        dedupe_key=f"bench:{i}",
        channel="web_form",
        kind="form",
        source="website",
        provider="form",
        person=PersonFacts(
            email=f"buyer{i}@company{i % 97}.example",
            first_name="Sam",
            last_name=f"Buyer{i}",
            company=f"Company {i % 97}",
            country="US",
        ),
        body_text="We would like a demo of invoice automation.",
        raw='{"bench": true}',
    )


def runtime_for(url: str, smtp_port: int) -> Runtime:
    migrate.upgrade(url)
    clock = VirtualClock(datetime(2026, 3, 10, 14, 0, tzinfo=UTC))
    settings = Settings(database_url=url, workspace_path=ROOT / "examples/workspace")
    runtime = Runtime(
        settings=settings,
        db=Database(url),
        workspace=load_workspace(settings.workspace_path),
        clock=clock,
    )
    # The example workspace's wires, with email going to the sink and a
    # mailbox allowance (still counted) that no run reaches.
    wires = senders(runtime)
    runtime.services[SERVICE] = replace(
        wires,
        email=SmtpEmail("127.0.0.1", smtp_port, security="none"),
        mailbox=MailboxLimits(wires.from_address, 10**6, 10**7),
    )
    return runtime


def answer_all(runtime: Runtime, inbound_ids: list[int]) -> None:
    for inbound_id in inbound_ids:
        statuses = run_first_touch(runtime, inbound_id)
        if statuses != {"email": "sent"}:
            raise SystemExit(f"inbound {inbound_id} was not answered: {statuses}")


def main() -> int:
    configure_logging(level="WARNING")
    port = free_port()
    sink = start_sink(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runtime = runtime_for(f"sqlite:///{Path(tmp) / 'bench.db'}", port)
            ids = [ingest(runtime, lead(i)).inbound_id for i in range(WARM_UP + LEADS)]
            answer_all(runtime, ids[:WARM_UP])

            commits: list[object] = []

            def committed(conn: object) -> None:
                commits.append(conn)

            event.listen(runtime.db.engine, "commit", committed)
            profile_top = int(os.environ.get("FIRSTTOUCH_BENCH_PROFILE", "0"))
            profiler = cProfile.Profile() if profile_top else None
            wall, cpu = time.perf_counter(), time.thread_time()
            if profiler:
                profiler.enable()
            answer_all(runtime, ids[WARM_UP:])
            if profiler:
                profiler.disable()
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            event.remove(runtime.db.engine, "commit", committed)
            runtime.close()
    finally:
        sink.terminate()
        sink.wait(timeout=10)

    print(
        f"bench: respond_first_touch_cpu_ms value={cpu / LEADS * 1000:.2f} "
        "unit=ms target=2 (at 200 leads/s a core has 5 ms a lead for all layers)"
    )
    print(
        f"bench: respond_first_touch_commits value={len(commits) / LEADS:.1f} "
        "unit=1 target=2"
    )
    print(f"bench: respond_first_touch_per_s value={LEADS / wall:.0f} unit=1/s")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(profile_top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
