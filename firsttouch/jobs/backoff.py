"""When a failed job runs again: exponential, capped, with full jitter.

Jitter spreads retries of jobs that failed together (a provider outage) so
they do not all hit the provider again in the same second.

Two schedules. A job that fails for any reason gets ``retry_delay`` and a
fixed number of attempts (its ``max_attempts``). A delivery that failed for
a reason that may pass (the mail server down, a 4xx reply, a provider's 5xx
or 429) gets ``delivery_retry_delay`` instead, for ``DELIVERY_HORIZON``
from its first such failure, whatever the count: an outage of a weekend
must not drop a buyer's first touch. Each wait is about as long as the
failure has lasted so far (so the waits grow geometrically), and never more
than ``DELIVERY_CAP_SECONDS``, so a message goes out at most that long after
the outage ends.
"""

from __future__ import annotations

import random
from datetime import timedelta

BASE_SECONDS = 2.0
CAP_SECONDS = 3600.0

# Three days: a mail server down from Friday evening to Monday morning.
DELIVERY_HORIZON = timedelta(hours=72)
DELIVERY_CAP_SECONDS = 900.0


def retry_delay(attempt: int, rng: random.Random | None = None) -> timedelta:
    """Return how long to wait before attempt ``attempt + 1``."""
    ceiling = min(CAP_SECONDS, BASE_SECONDS * (2 ** max(attempt - 1, 0)))
    return _jittered(ceiling, rng)


def delivery_retry_delay(
    failing_for: timedelta, rng: random.Random | None = None
) -> timedelta:
    """Return how long to wait after a delivery has failed for ``failing_for``."""
    elapsed = failing_for.total_seconds()
    ceiling = min(DELIVERY_CAP_SECONDS, max(BASE_SECONDS, elapsed))
    return _jittered(ceiling, rng)


def _jittered(ceiling: float, rng: random.Random | None) -> timedelta:
    uniform = rng.uniform if rng is not None else random.uniform
    return timedelta(seconds=ceiling / 2 + uniform(0, ceiling / 2))
