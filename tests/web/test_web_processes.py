"""`serve --web-processes N`: one port served by N processes."""

# S603: the commands are our own entry point with our own arguments.
# ruff: noqa: S603

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from firsttouch.web.listeners import bind

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent pid is the second field after the ")" closing the name.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def healthz_count(port: int) -> float:
    scrape = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    total = 0.0
    for row in scrape.splitlines():
        if row.startswith("firsttouch_http_requests_total{") and (
            'route="/healthz"' in row
        ):
            total += float(row.rsplit(" ", 1)[1])
    return total


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_shared_port_takes_a_second_process_and_a_plain_one_does_not() -> None:
    port = free_port()
    first = bind("127.0.0.1", port, shared=True)
    second = bind("127.0.0.1", port, shared=True)
    try:
        with pytest.raises(OSError):
            bind("127.0.0.1", port, shared=False)
    finally:
        first.close()
        second.close()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_extra_web_processes_serve_the_port_and_end_with_the_first(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "FIRSTTOUCH_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}",
        "FIRSTTOUCH_WORKSPACE": str(ROOT / "examples" / "workspace"),
        "FIRSTTOUCH_PORT": str(port),
        "FIRSTTOUCH_LOG_LEVEL": "WARNING",
    }
    firsttouch = str(Path(sys.executable).with_name("firsttouch"))
    subprocess.run([firsttouch, "db", "upgrade"], env=env, check=True)
    serve = subprocess.Popen(
        [firsttouch, "serve", "--no-worker", "--web-processes", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    helpers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            helpers = children_of(serve.pid)
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            except httpx.HTTPError:
                healthy = None
            if helpers and healthy is not None and healthy.status_code == 200:
                break
            time.sleep(0.2)
        assert len(helpers) == 1, "one extra web process"
        # The extra process answers on the same port: several fresh
        # connections are spread over both listeners by the kernel.
        for _ in range(20):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        # Whichever process answers a scrape, it counts every process's work.
        readings = {healthz_count(port) for _ in range(6)}
        assert len(readings) == 1 and readings.pop() >= 20

        serve.send_signal(signal.SIGKILL)
        serve.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and alive(helpers[0]):
            time.sleep(0.1)
        assert not alive(helpers[0]), "the extra process outlived the first"
    finally:
        if serve.poll() is None:
            serve.kill()
        for pid in helpers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_a_form_rate_limit_holds_across_the_web_processes(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "FIRSTTOUCH_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}",
        "FIRSTTOUCH_WORKSPACE": str(ROOT / "examples" / "workspace"),
        "FIRSTTOUCH_PORT": str(port),
        "FIRSTTOUCH_LOG_LEVEL": "WARNING",
    }
    env.pop("FIRSTTOUCH_RATE_LIMIT_FILE", None)
    firsttouch = str(Path(sys.executable).with_name("firsttouch"))
    subprocess.run([firsttouch, "db", "upgrade"], env=env, check=True)
    serve = subprocess.Popen(
        [firsttouch, "serve", "--no-worker", "--web-processes", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/capture/forms/demo-request"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        time.sleep(2)  # the extra process is listening too

        # Each post on a fresh connection, so the kernel spreads them over
        # both processes; the example form allows 30 a minute per address.
        answers = [
            httpx.post(url, json={"email": f"rate{n}@limits.example"})
            for n in range(40)
        ]
    finally:
        serve.terminate()
        serve.wait(timeout=20)

    codes = [answer.status_code for answer in answers]
    assert codes.count(202) == 30 and codes.count(429) == 10
    # Request ids start with their process's own prefix: both processes answered.
    assert len({answer.headers["x-request-id"][:12] for answer in answers}) == 2
    assert (tmp_path / f"firsttouch-rate-limits-{port}.bin").exists()
