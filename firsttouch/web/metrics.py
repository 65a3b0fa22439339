"""Prometheus metrics for requests and jobs, on a registry per app.

With ``serve --web-processes N`` the processes share one port, so a scrape
reaches any one of them: each then writes its counters to files in
``PROMETHEUS_MULTIPROC_DIR`` (set by ``serve`` before anything is counted)
and ``/metrics`` adds up every process's figures.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "firsttouch_http_requests_total",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "firsttouch_http_request_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        # Read from the database at each scrape: whichever process answers,
        # its reading is the current one.
        self.jobs = Gauge(
            "firsttouch_jobs",
            "Jobs by state.",
            ["state"],
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.job_lag = Gauge(
            "firsttouch_job_lag_seconds",
            "How late the oldest due, unclaimed job is.",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )

        # SQLite only: the one writer lock every write takes turns on. Its
        # busy seconds rising by nearly one a second means the lock is what
        # limits this deployment (PostgreSQL is the way past it).
        self.writer_turns = Gauge(
            "firsttouch_sqlite_writer_turns_total",
            "Write transactions on the SQLite writer lock, this process's.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.writer_busy = Gauge(
            "firsttouch_sqlite_writer_busy_seconds_total",
            "Seconds the SQLite writer lock was held, this process's.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.writer_wait = Gauge(
            "firsttouch_sqlite_writer_wait_seconds_total",
            "Seconds writers waited for the SQLite writer lock, this process's.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def exposition_registry(self) -> CollectorRegistry:
        """The registry to expose: every web process's, when there are several."""
        if not os.environ.get(MULTIPROCESS_ENV):
            return self.registry
        combined = CollectorRegistry()
        MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        return combined
