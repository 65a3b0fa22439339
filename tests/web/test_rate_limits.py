"""Form rate limits: a sliding minute per key, shared by processes through a file."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from firsttouch.web.rate_limits import SLOTS, RateLimiter

NOON = datetime(2026, 3, 10, 12, 0, 0, tzinfo=UTC)
KEY = ("demo-request", "203.0.113.7")


def test_a_key_gets_its_limit_a_minute_and_the_window_slides_by_the_second() -> None:
    limiter = RateLimiter()
    first = [limiter.allow(KEY, 3, NOON + timedelta(seconds=n)) for n in range(4)]
    # The hit at 12:00:00 leaves the window at 12:01:00, the next one a second later.
    at_59 = limiter.allow(KEY, 3, NOON + timedelta(seconds=59))
    at_60 = limiter.allow(KEY, 3, NOON + timedelta(seconds=60))
    again_60 = limiter.allow(KEY, 3, NOON + timedelta(seconds=60))

    assert first == [True, True, True, False]
    assert (at_59, at_60, again_60) == (False, True, False)
    assert limiter.allow(("demo-request", "198.51.100.2"), 3, NOON)
    assert limiter.allow(KEY, 3, NOON + timedelta(minutes=5))


def test_a_spray_of_addresses_stays_in_the_table_and_new_keys_still_count() -> None:
    limiter = RateLimiter()
    for n in range(SLOTS * 2):
        limiter.allow(("demo-request", f"10.0.{n // 256}.{n % 256}"), 1, NOON)

    assert limiter.allow(KEY, 1, NOON)
    assert not limiter.allow(KEY, 1, NOON)


def _post_from_a_process(path: str, count: int, allowed: multiprocessing.Queue) -> None:
    limiter = RateLimiter(Path(path))
    allowed.put(sum(limiter.allow(KEY, 10, NOON) for _ in range(count)))
    limiter.close()


def test_two_processes_sharing_the_file_share_one_limit(tmp_path: Path) -> None:
    path = str(tmp_path / "limits.bin")
    context = multiprocessing.get_context("spawn")
    allowed: multiprocessing.Queue = context.Queue()
    processes = [
        context.Process(target=_post_from_a_process, args=(path, 8, allowed))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    counts = [allowed.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)

    assert sum(counts) == 10
    assert all(process.exitcode == 0 for process in processes)
    # A third process, later in the same minute, finds the minute used up.
    assert not RateLimiter(Path(path)).allow(KEY, 10, NOON + timedelta(seconds=30))
