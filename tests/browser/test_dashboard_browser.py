"""The dashboard in Debian's Chromium: a form post becomes a hot lead in the
queue without a reload; a manager opens, claims and reassigns it and sees
both on its timeline. And the three refusals: another rep's lead, a form
without its CSRF token, a lead whose name is markup."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from firsttouch.store.models import Inbound
from tests.browser.conftest import screenshot
from tests.web.dashboard_data import PASSWORD, USERS, judge, make_lead

pytestmark = pytest.mark.browser

DEMO_REQUEST = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email": "grace.hopper@fleetwise-logistics.example",
    "company": "Fleetwise Logistics",
    "title": "Chief Financial Officer",
    "employees": "400",
    "industry": "software",
    "country": "US",
    "message": "We want a demo and pricing for AP automation this quarter.",
}


def log_in(page: Any, base: str, who: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(USERS[who][0])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Queue", exact=True)).to_be_visible()


def post_demo_request(page: Any, base: str) -> int:
    """Post the web form as a site would (JSON, so no thank-you redirect)."""
    answer = page.request.post(
        f"{base}/capture/forms/demo-request", data=DEMO_REQUEST, max_redirects=0
    )
    assert answer.status == 202, answer.text()
    body = answer.json()
    return int(body.get("inbound_id") or body.get("id"))


def test_a_form_post_becomes_a_hot_lead_that_is_claimed_and_reassigned(
    live_server, page
) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    log_in(page, base, "dana")
    page.evaluate("window.__sameDocument = true")

    inbound_id = post_demo_request(page, base)
    hot = page.locator("#list-hot")
    card = hot.locator(f'[data-lead-id="{inbound_id}"]')
    expect(card).to_be_visible(timeout=30_000)
    expect(card).to_contain_text("Grace Hopper")
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    screenshot(page, "queue")

    card.get_by_role("link", name="Grace Hopper").click()
    expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    expect(page.locator("#brief")).not_to_be_empty()
    expect(page.locator("#brief")).not_to_contain_text("No brief yet")

    page.get_by_role("button", name="Claim Grace Hopper").click()
    expect(page.get_by_role("status")).to_contain_text("Lead claimed")
    expect(page.locator("#lead-owner")).to_have_text("Dana Brooks")

    page.get_by_label("Reassign Grace Hopper to").select_option("maya")
    page.get_by_role("button", name="Reassign").click()
    expect(page.get_by_role("status")).to_contain_text("Lead reassigned")
    expect(page.locator("#lead-owner")).to_have_text("Maya Chen")

    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("claimed by Dana")
    expect(timeline).to_contain_text("reassigned to Maya Chen by Dana")
    screenshot(page, "lead", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/")
    screenshot(page, "queue-phone", full_page=True)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth > window.innerWidth + 1"
    )
    assert not overflow, "the queue scrolls sideways on a phone-sized screen"


def test_a_rep_cannot_open_a_colleagues_lead_by_changing_the_id(
    live_server, page
) -> None:  # type: ignore[no-untyped-def]
    runtime = live_server.runtime
    theirs = make_lead(runtime.db, runtime.clock.now(), first="Luisa", owner="luis")
    mine = make_lead(runtime.db, runtime.clock.now(), first="Mayra", owner="maya")
    log_in(page, live_server.url, "maya")

    assert page.goto(f"{live_server.url}/leads/{mine}").status == 200
    answer = page.goto(f"{live_server.url}/leads/{theirs}")
    assert answer.status == 404
    expect(page.get_by_role("heading", name="Lead not found")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Luisa")


def test_a_form_post_without_the_csrf_token_is_refused(live_server, page) -> None:  # type: ignore[no-untyped-def]
    runtime = live_server.runtime
    lead = make_lead(runtime.db, runtime.clock.now(), first="Unclaimed", owner=None)
    log_in(page, live_server.url, "maya")

    # The browser's own cookie goes along; only the token is missing.
    answer = page.request.post(
        f"{live_server.url}/leads/{lead}/claim", form={"back": "queue"}, max_redirects=0
    )
    assert answer.status == 403
    with runtime.db.sessions() as session:
        assert (
            session.scalar(select(Inbound.owner_id).where(Inbound.id == lead)) is None
        )


def test_a_lead_named_with_markup_is_shown_as_text(live_server, page) -> None:  # type: ignore[no-untyped-def]
    runtime = live_server.runtime
    evil = "<img src=x onerror=alert(1)>"
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    first = make_lead(
        runtime.db, runtime.clock.now(), first=evil, last="", message=evil
    )
    judge(runtime.db, first, brief=evil)
    log_in(page, live_server.url, "maya")
    expect(page.locator(f'[data-lead-id="{first}"]')).to_contain_text(evil)

    # The same name arriving through the live feed goes in as text too.
    second = make_lead(
        runtime.db, runtime.clock.now(), first=evil, last="", company="Markup Inc"
    )
    judge(runtime.db, second, brief=evil)
    live_card = page.locator(f'[data-lead-id="{second}"]')
    expect(live_card).to_contain_text(evil, timeout=15_000)
    expect(live_card).to_contain_text("Markup Inc")
    assert page.locator('img[src="x"]').count() == 0

    # The card the script built carries a working, CSRF-protected Claim.
    live_card.get_by_role("button", name=f"Claim {evil}").click()
    expect(page.get_by_role("status")).to_contain_text("Lead claimed")

    page.goto(f"{live_server.url}/leads/{first}")
    expect(
        page.get_by_role("heading", name=re.compile(re.escape(evil)))
    ).to_be_visible()
    assert page.locator('img[src="x"]').count() == 0
    assert dialogs == []
