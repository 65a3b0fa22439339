"""Where every piece of firsttouch reads the time.

Code asks ``clock.now()`` (or a ``Clock`` it was handed), never
``datetime.now()``. Tests and the demo install a ``VirtualClock`` so that a
week of follow-ups replays in seconds. Times are always timezone-aware UTC.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that starts at a chosen moment and moves when told, or by speed.

    With ``speed=0`` it stands still until ``advance`` or ``set`` moves it;
    with ``speed=N`` it runs N times faster than the wall clock from its start.
    """

    def __init__(self, start: datetime, speed: float = 0.0):
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs an aware start time (UTC)")
        self._lock = threading.Lock()
        self._base = start.astimezone(UTC)
        self._speed = speed
        self._wall_base = time.monotonic()

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._wall_base) * self._speed
            return self._base + timedelta(seconds=elapsed)

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        with self._lock:
            elapsed = (time.monotonic() - self._wall_base) * self._speed
            self._base = self._base + timedelta(seconds=elapsed) + delta
            self._wall_base = time.monotonic()
            return self._base

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (aware)."""
        with self._lock:
            self._base = moment.astimezone(UTC)
            self._wall_base = time.monotonic()


_current: Clock = SystemClock()


def now() -> datetime:
    """Return the current UTC time from the installed clock."""
    return _current.now()


def install(clock: Clock) -> Clock:
    """Make ``clock`` the process clock; return the one it replaces."""
    global _current
    previous = _current
    _current = clock
    return previous


def current() -> Clock:
    """Return the installed clock."""
    return _current


def ensure_utc(moment: datetime) -> datetime:
    """Return ``moment`` as aware UTC; naive values are taken to be UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
