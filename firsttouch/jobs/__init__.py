"""The durable job queue, its timers, its workers and the outbound ledger.

It knows no layer: a layer enqueues through ``enqueue`` inside its own
transaction, and the worker entry point maps each job kind to a handler.
"""

from firsttouch.jobs.queue import ClaimedJob, JobQueue, enqueue

__all__ = ["ClaimedJob", "JobQueue", "enqueue"]
