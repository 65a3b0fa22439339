"""Webhooks accepted per second, with zero loss, and accept latency at 200/s.

Runs ``firsttouch serve --no-worker --web-processes 2`` (only capture is
measured; one web process per core, ``FIRSTTOUCH_BENCH_WEB_PROCESSES``; on
SQLite one process is printed beside it) on a fresh SQLite file and on a
fresh PostgreSQL database, and posts signed
generic-chat webhooks (each a new buyer) over keep-alive connections from
the lean load generator in ``http_load.py``:

- ``accept_per_s_sqlite`` / ``accept_per_s_pg``: 2xx answers per second
  over a closed-loop run of ``FIRSTTOUCH_BENCH_ACCEPT`` requests (6,000);
- ``accept_lost``: answers that said 2xx minus inbounds in the store
  (must be 0: a 2xx is sent only after the inbound and its jobs commit);
- ``accept_p99_ms``: p99 latency while posting at a steady 200/s for 10 s
  (SQLite), counted from when each request was due.

Beside them: the same machine's ceiling, a FastAPI route that reads and
parses the same body and stores nothing (as many processes), and n8n's
published 220 workflow runs per second on 2 vCPU. The load generator
shares the 2 cores with the server, so every figure here is a floor.
"""

# S603: every command here is ours, no outside input.
# ruff: noqa: S603

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import http_load
import httpx
from pg import fresh_database
from sqlalchemy import create_engine, text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# A throwaway signing secret for this run only.
SECRET = "bench-generic-chat-secret"  # noqa: S105
REQUESTS = int(os.environ.get("FIRSTTOUCH_BENCH_ACCEPT", "6000"))
# Keep-alive connections of the closed-loop run, and its untimed first round.
CONNECTIONS = 32
WARM_UP = 500
# `serve --web-processes`: one web process per core of this machine.
WEB_PROCESSES = int(os.environ.get("FIRSTTOUCH_BENCH_WEB_PROCESSES", "2"))
N8N_RUNS_PER_S = 220.0


def line(name: str, value: float, unit: str, target: str, **peer: object) -> None:
    extra = " ".join(f"{k}={v}" for k, v in peer.items())
    print(
        f"bench: {name} value={value:.1f} unit={unit} target={target} {extra}".rstrip(),
        flush=True,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def body(n: int) -> bytes:
    tag = uuid.uuid4().hex[:12]
    return json.dumps(
        {
            "id": f"bench-{tag}-{n}",
            "sent_at": "2026-03-10T14:00:00Z",
            "visitor": {
                "email": f"buyer{n}.{tag}@prospect{n % 97}.example",
                "name": f"Buyer {n}",
            },
            "message": "Do you integrate with our ERP? We want a demo this quarter.",
        }
    ).encode()


def signed(payload: bytes) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Firsttouch-Signature": f"sha256={digest}",
    }


@contextmanager
def server(args: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"server on {url} did not start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def firsttouch(database_url: str, processes: int = 1) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "FIRSTTOUCH_DATABASE_URL": database_url,
        "FIRSTTOUCH_PORT": str(port),
        "FIRSTTOUCH_LOG_LEVEL": "WARNING",
        "GENERIC_CHAT_SECRET": SECRET,
        "TWILIO_AUTH_TOKEN": "bench",
        "FIRSTTOUCH_WORKSPACE": str(ROOT / "examples" / "workspace"),
        "PYTHONPATH": str(ROOT),
    }
    command = str(Path(sys.executable).with_name("firsttouch"))
    subprocess.run(
        [command, "db", "upgrade"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    args = [command, "serve", "--no-worker", "--web-processes", str(processes)]
    with server(args, env, port) as url:
        # Every process must be listening before the clock starts.
        time.sleep(2 if processes > 1 else 0)
        yield url


@contextmanager
def ceiling(processes: int) -> Iterator[str]:
    """A route that reads and parses the same body and stores nothing."""
    port = free_port()
    code = (
        "import json\n"
        "from fastapi import FastAPI, Request\n"
        "app = FastAPI()\n"
        "@app.get('/healthz')\n"
        "def health(): return {'status': 'ok'}\n"
        "@app.post('/capture/chat/generic')\n"
        "async def take(request: Request):\n"
        "    json.loads(await request.body())\n"
        "    return {'accepted': True}\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "ceiling_app.py").write_text(code)
        args = [
            sys.executable,
            "-m",
            "uvicorn",
            "ceiling_app:app",
            "--app-dir",
            folder,
            "--port",
            str(port),
            "--workers",
            str(processes),
            "--log-level",
            "warning",
        ]
        with server(args, dict(os.environ), port) as url:
            time.sleep(2 if processes > 1 else 0)
            yield url


def requests(url: str, count: int) -> list[bytes]:
    """``count`` signed webhooks, each a new buyer, as bytes on the wire."""
    target = f"{url}/capture/chat/generic"
    return [
        http_load.request_bytes(target, payload, signed(payload))
        for payload in (body(n) for n in range(count))
    ]


def closed_loop(url: str, count: int) -> tuple[float, int, int]:
    """Post ``count`` webhooks back to back; return (per s, 2xx, errors).

    A first round of WARM_UP requests opens the connections and warms the
    server's caches; it is not timed (its inbounds are stored all the same).
    """
    warm = http_load.closed_loop(url, requests(url, WARM_UP), CONNECTIONS)
    outcome = http_load.closed_loop(url, requests(url, count), CONNECTIONS)
    return outcome.per_second, outcome.ok + warm.ok, outcome.failed + warm.failed


def paced(url: str, rate: float, seconds: float) -> http_load.Outcome:
    """Post at a steady ``rate`` per second, open loop."""
    return http_load.paced(url, requests(url, int(rate * seconds)), rate)


def stored(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM inbounds")).scalar() or 0)
    engine.dispose()
    return count


def main() -> None:
    with ceiling(WEB_PROCESSES) as url:
        top, _, _ = closed_loop(url, REQUESTS)
    line("accept_ceiling_per_s", top, "req/s", "info", processes=WEB_PROCESSES)

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite:///{folder}/one.db"
        with firsttouch(database) as url:
            rate, _, _ = closed_loop(url, REQUESTS)
        line("accept_per_s_sqlite_one_process", rate, "req/s", "info")

        database = f"sqlite:///{folder}/accept.db"
        with firsttouch(database, WEB_PROCESSES) as url:
            rate, ok, errors = closed_loop(url, REQUESTS)
            steady = paced(url, 200, 10)
        results["sqlite"] = (rate, ok, errors, stored(database), WEB_PROCESSES)
    try:
        with (
            fresh_database("ft_bench_accept") as database,
            firsttouch(database, WEB_PROCESSES) as url,
        ):
            rate, ok, errors = closed_loop(url, REQUESTS)
            results["pg"] = (rate, ok, errors, stored(database), WEB_PROCESSES)
    except Exception as exc:  # noqa: BLE001 - a missing PostgreSQL must not hide SQLite
        print(f"# PostgreSQL run failed: {type(exc).__name__}: {exc}", flush=True)

    lost = 0
    for name, (rate, ok, errors, count, processes) in results.items():
        # The paced run's inbounds are in the SQLite store too.
        extra = steady.ok if name == "sqlite" else 0
        lost += max(0, ok + extra - count)
        target = ">=1500" if name == "sqlite" else ">=2000"
        line(
            f"accept_per_s_{name}",
            rate,
            "req/s",
            target,
            ceiling_ratio=f"{rate / top:.2f}",
            peer="n8n",
            peer_value=N8N_RUNS_PER_S,
            ratio=f"{rate / N8N_RUNS_PER_S:.2f}",
            errors=errors,
            processes=processes,
        )
    line("accept_lost", lost, "inbounds", "0")
    line(
        "accept_p99_ms",
        steady.percentile(0.99),
        "ms",
        "<50",
        rate="200/s",
        p50=f"{steady.percentile(0.5):.1f}",
        errors=steady.failed,
    )


if __name__ == "__main__":
    main()
