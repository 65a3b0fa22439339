"""A real dashboard for the browser: uvicorn on a free loopback port, a
worker thread, a SQLite file in the test's folder, and Debian's Chromium.

The worker runs qualify with its offline fact sources only, so a form post
is scored without any network; every connection stays on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.web.dashboard_data import make_users, use_cheap_hashing

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIRS = (ROOT / "artifacts" / "screenshots", ROOT / "docs" / "screenshots")


@dataclass
class LiveServer:
    url: str
    runtime: Runtime


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _offline_providers() -> list[Any]:
    try:
        from firsttouch.qualify.providers.offline import EmailProvider, TitleProvider
    except ImportError:
        return []
    return [EmailProvider(), TitleProvider()]


@pytest.fixture
def live_server(  # type: ignore[no-untyped-def]
    sqlite_template, tmp_path, settings, workspace, clock, monkeypatch
) -> Iterator[LiveServer]:
    import uvicorn

    from firsttouch.web import create_app
    from firsttouch.worker import build_worker

    path = tmp_path / "live.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    port = _free_port()
    runtime = Runtime(
        settings=settings.with_overrides(
            database_url=db.url, public_url=f"http://127.0.0.1:{port}"
        ),
        db=db,
        workspace=workspace,
        clock=clock,
    )
    runtime.services["qualify.providers"] = _offline_providers()
    use_cheap_hashing(monkeypatch)
    make_users(db, clock)

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    )
    serving = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    serving.start()
    worker = build_worker(runtime, worker_id="browser-test")
    working = threading.Thread(target=worker.run_forever, name="worker", daemon=True)
    working.start()

    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 15 s")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", runtime)

    server.should_exit = True
    worker.stop()
    serving.join(timeout=10)
    working.join(timeout=10)
    db.dispose()


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Any, name: str, **options: Any) -> None:
    """Save a screenshot as a test artifact, and for the README.

    The README's copy is written when missing or when
    ``FIRSTTOUCH_UPDATE_SCREENSHOTS=1``, so a test run leaves the committed
    images alone.
    """
    artifacts, docs = SCREENSHOT_DIRS
    artifacts.mkdir(parents=True, exist_ok=True)
    target = artifacts / f"{name}.png"
    page.screenshot(path=str(target), **options)
    readme_copy = docs / target.name
    if (
        not readme_copy.exists()
        or os.environ.get("FIRSTTOUCH_UPDATE_SCREENSHOTS") == "1"
    ):
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, readme_copy)
