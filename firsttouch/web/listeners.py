"""Serve one port from several processes, so the web tier uses every core.

One Python process runs its web app on one core at a time. With
``serve --web-processes N`` the first process starts N-1 more
``serve --no-worker --shared-port`` processes; each binds the same address
with ``SO_REUSEPORT`` and the kernel spreads new connections across them.
Nothing else is shared: each process has its own database pool and its own
group-commit writer, and the database stays the one place where state lives.
The extra processes run no worker and no SMTP listener; they end when the
first one does (and, on Linux, if it dies).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from firsttouch.config import Settings
from firsttouch.logs import get_logger

log = get_logger(__name__)

# prctl(2): deliver a signal to this process when its parent exits.
_PR_SET_PDEATHSIG = 1


def bind(host: str, port: int, *, shared: bool) -> socket.socket:
    """A listening socket on ``host:port``; ``shared`` lets other processes join."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


@contextmanager
def helper_processes(settings: Settings, count: int) -> Iterator[list[int]]:
    """Run ``count`` more web processes on the same port while inside."""
    procs = [_start_one(settings) for _ in range(count)]
    if procs:
        log.info("web.extra_processes_started", extra=len(procs), port=settings.port)
    try:
        yield [proc.pid for proc in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _start_one(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FIRSTTOUCH_DATABASE_URL": settings.database_url,
        "FIRSTTOUCH_WORKSPACE": str(settings.workspace_path),
        "FIRSTTOUCH_HOST": settings.host,
        "FIRSTTOUCH_PORT": str(settings.port),
    }
    command = [
        sys.executable,
        "-c",
        "from firsttouch.cli import main; main()",
        "serve",
        "--no-worker",
        "--shared-port",
    ]
    # Our own interpreter and entry point; the settings travel in the environment.
    return subprocess.Popen(  # noqa: S603
        command, env=env, preexec_fn=_die_with_parent, stdout=subprocess.DEVNULL
    )


def _die_with_parent() -> None:
    """Runs in the child before exec: end it if the first process goes away."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
