"""The README's demo walkthrough, taken in Debian's Chromium.

A small demo week is replayed into a SQLite file, then the dashboard is
served on it the way ``firsttouch demo --serve`` does (clock resumed on the
Monday morning, a manager login made for the run). The test logs in, finds
the Monday queue sorted by score, opens the top lead's brief and visits the
leak score, SLA board and outbox, saving a screenshot of each for the README.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from firsttouch.config import Settings
from firsttouch.demo.run import DemoOptions, demo_login, demo_runtime, run_demo
from tests.browser.conftest import ROOT, _free_port, screenshot
from tests.web.dashboard_data import use_cheap_hashing

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_server(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    import uvicorn

    from firsttouch.web import create_app
    from firsttouch.worker import build_worker

    port = _free_port()
    settings = Settings(
        workspace_path=ROOT / "examples" / "workspace",
        database_url=f"sqlite:///{tmp_path}/demo.db",
        outbox_dir=tmp_path / "outbox",
        public_url=f"http://127.0.0.1:{port}",
        env={"TWILIO_AUTH_TOKEN": "test-twilio-token"},
    )
    report = run_demo(DemoOptions(settings=settings, corpus=None, leads=50, seed=2))

    use_cheap_hashing(monkeypatch)
    runtime = demo_runtime(settings, report)
    email, password = demo_login(runtime)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    threading.Thread(target=server.run, name="uvicorn", daemon=True).start()
    worker = build_worker(runtime, worker_id="demo-browser")
    threading.Thread(target=worker.run_forever, name="worker", daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", email, password, report

    server.should_exit = True
    worker.stop()
    runtime.close()


def test_the_demo_week_on_the_dashboard(demo_server, page: Any) -> None:
    base, email, password, report = demo_server
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Queue", exact=True)).to_be_visible()

    hot = page.locator("#list-hot [data-lead-id]")
    top = report.monday_queue[0]
    expect(hot.first).to_contain_text(top.name)
    screenshot(page, "demo-queue", full_page=False)

    hot.first.get_by_role("link", name=re.compile(re.escape(top.name))).click()
    expect(page.get_by_role("heading", name=top.name)).to_be_visible()
    expect(page.locator("#brief")).not_to_be_empty()
    screenshot(page, "demo-lead", full_page=False)

    for path, heading, name in (
        ("/leak", "Revenue Leak Score", "demo-leak"),
        ("/sla", "SLA board", "demo-sla"),
        ("/outbox", "Outbox", "demo-outbox"),
    ):
        page.goto(f"{base}{path}")
        expect(
            page.get_by_role("heading", name=heading, exact=True).first
        ).to_be_visible()
        screenshot(page, name, full_page=False)
