"""Run the fact sources for one lead within a total time budget.

Sources run in order of trust. The offline ones (email, title, directory)
answer first and in line, because later sources need their facts (the
domain, whether the address is free-mail). Network sources then run side by
side in worker threads; whatever has not answered when the budget is spent
is recorded as timed out and the lead is scored with what is known. A
failing source is recorded, never raised: enrichment cannot stop a score.

Cached answers (per source and key, with an expiry) are read through a
function the caller passes, once the keys are known, and new answers are
handed back: the caller decides where the cache lives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from firsttouch.errors import EnrichmentError
from firsttouch.qualify.facts import FactSheet
from firsttouch.qualify.providers.base import Provider

log = structlog.get_logger(__name__)

INLINE = frozenset({"email", "title", "directory"})


@dataclass(frozen=True)
class CachedAnswer:
    facts: dict[str, Any]
    expires_at: datetime


CacheReader = Callable[[list[tuple[str, str]]], Mapping[tuple[str, str], CachedAnswer]]


@dataclass(frozen=True)
class SourceRun:
    """What one source did for one lead: ok, cached, skipped, failed or timeout."""

    provider: str
    status: str
    key: str | None = None
    elapsed_ms: float = 0.0
    error: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "status": self.status,
            "key": self.key,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "error": self.error,
        }


@dataclass
class Enrichment:
    facts: FactSheet
    runs: list[SourceRun]
    fresh: dict[tuple[str, str], dict[str, Any]]

    def failures(self) -> list[SourceRun]:
        return [r for r in self.runs if r.status in ("failed", "timeout")]


def _call(provider: Provider, key: str, facts: FactSheet) -> SourceRun:
    started = time.perf_counter()
    try:
        found = provider.lookup(key, facts)
        status, error = "ok", None
    except EnrichmentError as exc:
        found, status, error = {}, "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - one source's bug must not stop the score
        found, status, error = {}, "failed", f"{type(exc).__name__}: {exc}"
    elapsed = (time.perf_counter() - started) * 1000
    return SourceRun(provider.name, status, key, elapsed, error, dict(found))


def enrich(
    facts: FactSheet,
    providers: Sequence[Provider],
    *,
    budget_seconds: float,
    now: datetime,
    read_cache: CacheReader | None = None,
) -> Enrichment:
    """Add what each source knows to ``facts``, within ``budget_seconds``."""
    deadline = time.monotonic() + budget_seconds
    results: dict[str, SourceRun] = {}
    fresh: dict[tuple[str, str], dict[str, Any]] = {}

    # Inline sources first, each seeing the facts of those before it.
    for provider in providers:
        if provider.name in INLINE:
            key = provider.key(facts)
            run = (
                _call(provider, key, facts)
                if key is not None
                else SourceRun(provider.name, "skipped")
            )
            results[provider.name] = run
            facts.merge(run.facts, provider.name)

    network = [p for p in providers if p.name not in INLINE]
    keys = [(p.name, k) for p in network if p.cacheable and (k := p.key(facts))]
    cache = read_cache(keys) if read_cache is not None and keys else {}
    pending = _start_network(facts, network, now, cache, results, deadline)
    for provider, future in pending.items():
        run = (
            future.result()
            if future.done()
            else SourceRun(
                provider.name,
                "timeout",
                provider.key(facts),
                budget_seconds * 1000,
                f"no answer within the {budget_seconds:g} s budget",
            )
        )
        results[provider.name] = run

    # Merge in trust order, whatever order the answers arrived in.
    runs = [results[p.name] for p in providers if p.name in results]
    for provider in providers:
        answered = results.get(provider.name)
        if answered is None or provider.name in INLINE:
            continue
        facts.merge(answered.facts, provider.name)
        if answered.status == "ok" and provider.cacheable and answered.key:
            fresh[(provider.name, answered.key)] = answered.facts

    for run in runs:
        if run.status in ("failed", "timeout"):
            log.warning(
                "enrichment.source_failed",
                provider=run.provider,
                status=run.status,
                error=run.error,
            )
    return Enrichment(facts, runs, fresh)


def _start_network(
    facts: FactSheet,
    providers: Sequence[Provider],
    now: datetime,
    cache: Mapping[tuple[str, str], CachedAnswer],
    results: dict[str, SourceRun],
    deadline: float,
) -> dict[Provider, Future[SourceRun]]:
    """Start the network sources in threads; wait for them until the deadline."""
    to_call: list[tuple[Provider, str]] = []
    for provider in providers:
        key = provider.key(facts)
        cached = cache.get((provider.name, key)) if key and provider.cacheable else None
        if key is None:
            results[provider.name] = SourceRun(provider.name, "skipped")
        elif cached is not None and cached.expires_at > now:
            results[provider.name] = SourceRun(
                provider.name, "cached", key, facts=dict(cached.facts)
            )
        else:
            to_call.append((provider, key))
    if not to_call:
        return {}

    # Sources read a snapshot, so a slow thread never sees a half-merged sheet.
    snapshot = FactSheet(dict(facts.facts))
    executor = ThreadPoolExecutor(max_workers=len(to_call), thread_name_prefix="enrich")
    futures = {p: executor.submit(_call, p, key, snapshot) for p, key in to_call}
    waiting = set(futures.values())
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        _, waiting = wait(waiting, timeout=left, return_when=FIRST_COMPLETED)
    # Stragglers are abandoned, not joined: each has its own timeout and ends.
    executor.shutdown(wait=False, cancel_futures=True)
    return futures


def cache_expiry(now: datetime, ttl_hours: float) -> datetime:
    return now + timedelta(hours=ttl_hours)
