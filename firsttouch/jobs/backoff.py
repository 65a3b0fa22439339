"""When a failed job runs again: exponential, capped, with full jitter.

Jitter spreads retries of jobs that failed together (a provider outage) so
they do not all hit the provider again in the same second.
"""

from __future__ import annotations

import random
from datetime import timedelta

BASE_SECONDS = 2.0
CAP_SECONDS = 3600.0


def retry_delay(attempt: int, rng: random.Random | None = None) -> timedelta:
    """Return how long to wait before attempt ``attempt + 1``."""
    uniform = rng.uniform if rng is not None else random.uniform
    ceiling = min(CAP_SECONDS, BASE_SECONDS * (2 ** max(attempt - 1, 0)))
    return timedelta(seconds=ceiling / 2 + uniform(0, ceiling / 2))
