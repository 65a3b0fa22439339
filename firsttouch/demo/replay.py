"""Replay a week of arrivals through capture, respond and qualify.

The clock is virtual and stands still while the product works, so the same
seed always gives the same figures. Between arrivals it jumps straight to
the next moment something happens (an arrival or a job falling due). Each
worker pass over due jobs counts as one ``TICK`` of virtual time: a job
picked up in the first pass after an inbound is stamped one second after
it. That is slower than the product really is (a pass takes tens of
milliseconds), so the demo's first-touch times err on the honest side;
``ReplayStats.work_seconds`` keeps the real time the passes took.
``speed`` only paces the jumps for a person watching the dashboard: at
speed N a virtual hour takes 3600/N real seconds (each jump capped at 5 s).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from firsttouch.capture.ingest import ingest
from firsttouch.capture.providers.twilio_calls import capture_call_event
from firsttouch.clock import VirtualClock
from firsttouch.demo.week import Arrival
from firsttouch.jobs.queue import JobQueue
from firsttouch.jobs.runner import Worker
from firsttouch.runtime import Runtime
from firsttouch.worker import build_worker

log = structlog.get_logger(__name__)

# Told (done, total) after each arrival, for a progress bar.
Progress = Callable[[int, int], None]

# After the last arrival the replay keeps the clock running to this moment,
# so every SLA check and retry due over the weekend has fired.
SETTLE = timedelta(hours=12)

# Virtual time one worker pass over due jobs is taken to last.
TICK = timedelta(seconds=1)


@dataclass
class ReplayStats:
    delivered: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    jobs_run: int = 0
    by_note: Counter[str] = field(default_factory=Counter)
    real_seconds: float = 0.0
    work_seconds: float = 0.0
    passes: int = 0


def replay(
    runtime: Runtime,
    arrivals: list[Arrival],
    *,
    speed: float = 0.0,
    until: datetime | None = None,
    progress: Progress | None = None,
) -> ReplayStats:
    """Deliver every arrival at its moment and run the jobs that follow."""
    clock = runtime.clock
    if not isinstance(clock, VirtualClock):
        raise TypeError(
            "the demo replays on a VirtualClock(speed=0); build the runtime with one"
        )
    worker = build_worker(runtime, worker_id="demo")
    queue = JobQueue(runtime.db)
    stats = ReplayStats()
    started = time.monotonic()

    for number, arrival in enumerate(arrivals, start=1):
        _work_until(worker, queue, clock, arrival.at, speed, stats)
        _jump(clock, arrival.at, speed)
        _deliver(runtime, arrival, stats)
        _work_until(worker, queue, clock, clock.now() + TICK, speed, stats)
        if progress:
            progress(number, len(arrivals))

    end = until or (arrivals[-1].at + SETTLE if arrivals else clock.now())
    _work_until(worker, queue, clock, end, speed, stats)
    _jump(clock, end, speed)
    stats.real_seconds = time.monotonic() - started
    return stats


def _deliver(runtime: Runtime, arrival: Arrival, stats: ReplayStats) -> None:
    """Hand one event to capture, as its webhook endpoint would."""
    try:
        if arrival.event.channel == "call":
            # Calls go the way the voice webhooks take them: a recording or
            # transcript hangs on its call's inbound.
            result = capture_call_event(runtime, arrival.event)
        else:
            result = ingest(runtime, arrival.event)
    except Exception as exc:  # noqa: BLE001 - one bad event must not stop the week
        stats.rejected.append((arrival.event.dedupe_key, str(exc)))
        log.warning("demo.event_rejected", key=arrival.event.dedupe_key, error=str(exc))
        return
    stats.delivered += 1
    stats.duplicates += bool(result.duplicate)
    if arrival.note:
        stats.by_note[arrival.note] += 1


def _jump(clock: VirtualClock, moment: datetime, speed: float) -> None:
    """Move the clock forward to ``moment``; pace the jump when watched."""
    now = clock.now()
    if moment <= now:
        return
    if speed > 0:
        time.sleep(min((moment - now).total_seconds() / speed, 5.0))
    clock.set(moment)


def _work_until(
    worker: Worker,
    queue: JobQueue,
    clock: VirtualClock,
    moment: datetime,
    speed: float,
    stats: ReplayStats,
) -> None:
    """Run every job due up to ``moment``, one ``TICK`` per worker pass."""
    while True:
        due = queue.next_due()
        if due is None or due > moment:
            return
        _jump(clock, due, speed)
        clock.advance(TICK)
        began = time.monotonic()
        claimed = worker.run_once()
        stats.work_seconds += time.monotonic() - began
        stats.passes += 1
        stats.jobs_run += claimed
        if not claimed and queue.next_due() == due:
            # Due but not claimable (a lease held elsewhere): don't spin.
            return
