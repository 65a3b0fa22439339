"""A lean HTTP/1.1 load generator for the accept benchmark.

The server and the load share this machine's 2 cores, so every microsecond
the client spends is taken from the server being measured. A thread pool of
``httpx`` clients spent about as much CPU per request as the server did;
this sends prebuilt request bytes over keep-alive connections from one
asyncio loop and reads just the status line, headers and body length.

``closed_loop``: every connection sends its next request as soon as the
previous answer arrives. ``paced``: request ``i`` leaves at ``t0 + i/rate``
on whichever connection is free (open loop: a slow server does not slow
the offered rate, so latency includes any queueing).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Outcome:
    """What came back: answers by class, and each answer's latency in ms."""

    ok: int = 0
    failed: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * (len(ordered) - 1)))]


def request_bytes(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One complete POST, ready to write to a keep-alive connection."""
    parts = urlsplit(url)
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one response; return its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _run(
    url: str,
    requests: Sequence[bytes],
    connections: int,
    rate: float | None,
) -> Outcome:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    outcome = Outcome()
    next_index = 0
    started = time.perf_counter()

    async def connection() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next_index < len(requests):
                index = next_index
                next_index += 1
                if rate is not None:
                    delay = started + index / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                # Open loop: latency counts from when the request was due,
                # so time spent waiting for a free connection is not hidden.
                sent = time.perf_counter() if rate is None else started + index / rate
                writer.write(requests[index])
                try:
                    status = await _answer(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    outcome.failed += 1
                    return
                outcome.latencies_ms.append((time.perf_counter() - sent) * 1000)
                if 200 <= status < 300:
                    outcome.ok += 1
                else:
                    outcome.failed += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    outcome.seconds = time.perf_counter() - started
    return outcome


def closed_loop(url: str, requests: Sequence[bytes], connections: int = 32) -> Outcome:
    """Send every request, each connection back to back."""
    return asyncio.run(_run(url, requests, connections, None))


def paced(
    url: str, requests: Sequence[bytes], rate: float, connections: int = 64
) -> Outcome:
    """Send request ``i`` at ``i / rate`` seconds, on a free connection."""
    return asyncio.run(_run(url, requests, connections, rate))
