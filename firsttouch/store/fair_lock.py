"""A re-entrant lock that serves waiting threads in the order they came.

``threading.RLock`` lets the thread that releases it take it straight back,
and under a steady stream of work it usually does: the SQLite writer lock
then stays with whichever thread writes most (the web tier's accept writer
in a burst) while the worker threads that answer buyers wait for the burst
to end. Handing the lock to the longest waiter on release keeps every
writer's wait bounded by the turns queued ahead of it.
"""

from __future__ import annotations

import threading
from collections import deque


class FairRLock:
    """Re-entrant, first come first served; ``acquire``/``release`` as RLock."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        # Each waiter parks on a lock of its own, released to hand it over.
        self._waiters: deque[tuple[int, threading.Lock]] = deque()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock; False if not taken within ``timeout`` seconds."""
        me = threading.get_ident()
        with self._guard:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and not self._waiters:
                self._owner, self._depth = me, 1
                return True
            if not blocking:
                return False
            parked = threading.Lock()
            parked.acquire()
            self._waiters.append((me, parked))

        handed = parked.acquire(timeout=timeout) if timeout >= 0 else parked.acquire()
        if handed:
            return True
        with self._guard:
            # The hand-over may have come between the timeout and here.
            if self._owner == me:
                return True
            self._waiters.remove((me, parked))
            return False

    def release(self) -> None:
        """Let go once per ``acquire``; the last release hands it on."""
        with self._guard:
            if self._owner != threading.get_ident():
                raise RuntimeError("cannot release a lock this thread does not hold")
            self._depth -= 1
            if self._depth:
                return
            if not self._waiters:
                self._owner = None
                return
            # Owner set before the waiter wakes: nobody can slip in between.
            self._owner, parked = self._waiters.popleft()
            self._depth = 1
            parked.release()
