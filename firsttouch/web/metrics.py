"""Prometheus metrics for requests and jobs, on a registry per app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.jobs = Gauge(
            "firsttouch_jobs", "Jobs by state.", ["state"], registry=self.registry
        )
        self.job_lag = Gauge(
            "firsttouch_job_lag_seconds",
            "How late the oldest due, unclaimed job is.",
            registry=self.registry,
        )
