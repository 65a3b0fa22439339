"""The worker entry point's claim order: the first touch leaves first."""

from __future__ import annotations

from firsttouch.jobs.queue import enqueue
from firsttouch.runtime import Runtime
from firsttouch.worker import PRIORITIES, build_handlers, build_worker


def test_every_ranked_kind_has_a_handler(runtime: Runtime) -> None:
    assert set(PRIORITIES) <= set(build_handlers(runtime))


def test_the_first_touch_is_claimed_before_qualifying_the_same_lead(
    runtime: Runtime,
) -> None:
    with runtime.db.transaction() as session:
        enqueue(session, "qualify.inbound", {"inbound_id": 1})
        enqueue(session, "respond.first_touch", {"inbound_id": 1})
    worker = build_worker(runtime, worker_id="w1")
    claimed = worker.queue.claim("w1", 1, lease_seconds=30)
    assert [job.kind for job in claimed] == ["respond.first_touch"]
