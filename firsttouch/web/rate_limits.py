"""Per-address form rate limits that hold across the web processes of a machine.

``serve --web-processes N`` runs N processes on one port, and the kernel
spreads a client's connections across them: counts kept in each process's
memory let an address post N times its limit. So the counts live in one
small file that every process maps into memory and updates under an
exclusive ``flock``: a check is two system calls and a few reads of shared
memory, with no database round trip on the form's path. With no file (one
process, the tests) the same table lives in anonymous memory.

The table has ``SLOTS`` slots, one per (form, address), found by a stable
hash with linear probing. Each slot counts its hits per second over the last
minute, so the window slides second by second. A slot whose last hit is a
minute old is free again; when every slot a key may use is live (a spray
of addresses) the stalest is taken over, so the file never grows and a
sprayer only makes some addresses forget part of their minute.

The file is per machine: web replicas on other machines keep their own.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import threading
from datetime import datetime
from pathlib import Path

WINDOW_SECONDS = 60
SLOTS = 8192
# How many neighbouring slots a key may use before the stalest is reused.
PROBES = 8

_HEAD = struct.Struct("<Qq")  # key hash (0: never used), second of the last hit
_COUNTS = struct.Struct(f"<{WINDOW_SECONDS}I")  # hits per second, by second % 60
_SLOT_SIZE = _HEAD.size + _COUNTS.size
_TABLE_SIZE = SLOTS * _SLOT_SIZE


class RateLimiter:
    """A sliding one-minute window of hits per key, shared through ``path``."""

    def __init__(self, path: Path | None = None):
        self._lock = threading.Lock()
        self._fd: int | None = None
        if path is None:
            self._table = mmap.mmap(-1, _TABLE_SIZE)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            # The first process sizes it; a new file reads as all zeros.
            if os.fstat(self._fd).st_size < _TABLE_SIZE:
                os.ftruncate(self._fd, _TABLE_SIZE)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._table = mmap.mmap(self._fd, _TABLE_SIZE)

    def allow(self, key: tuple[str, str], limit: int, now: datetime) -> bool:
        """Count a hit for ``key`` unless it already has ``limit`` this minute."""
        digest = hashlib.blake2b("\0".join(key).encode(), digest_size=8).digest()
        code = int.from_bytes(digest, "little") | 1  # never 0, the empty mark
        second = int(now.timestamp())
        with self._lock:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                return self._count(code, second, limit)
            finally:
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Unmap the table and close the file (the file stays for the others)."""
        self._table.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _count(self, code: int, second: int, limit: int) -> bool:
        offset = self._slot(code, second) * _SLOT_SIZE
        held, last = _HEAD.unpack_from(self._table, offset)
        if held != code or second - last >= WINDOW_SECONDS:
            counts = [0] * WINDOW_SECONDS
        else:
            counts = list(_COUNTS.unpack_from(self._table, offset + _HEAD.size))
            # Seconds that passed since the last hit start from nothing. (A
            # clock stepping back counts into the latest second seen.)
            for passed in range(last + 1, second + 1):
                counts[passed % WINDOW_SECONDS] = 0
            second = max(second, last)

        allowed = sum(counts) < limit
        if allowed:
            counts[second % WINDOW_SECONDS] += 1
        _HEAD.pack_into(self._table, offset, code, second)
        _COUNTS.pack_into(self._table, offset + _HEAD.size, *counts)
        return allowed

    def _slot(self, code: int, second: int) -> int:
        """The slot of ``code``: its own, else a free one, else the stalest."""
        free: int | None = None
        stalest, stalest_last = code % SLOTS, second + 1
        for probe in range(PROBES):
            index = (code + probe) % SLOTS
            held, last = _HEAD.unpack_from(self._table, index * _SLOT_SIZE)
            if held == code:
                return index
            if free is None and (held == 0 or second - last >= WINDOW_SECONDS):
                free = index
            if last < stalest_last:
                stalest, stalest_last = index, last
        return free if free is not None else stalest
