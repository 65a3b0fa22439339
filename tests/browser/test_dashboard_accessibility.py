"""Every dashboard page, checked in Chromium for what a screen reader and
a low-vision reader need: one h1, labelled controls, text contrast of at
least 4.5:1 (WCAG AA), and no sideways scrolling on a phone-sized screen."""

from __future__ import annotations

import pytest

from tests.browser.test_dashboard_browser import log_in
from tests.web.dashboard_data import judge, make_lead

pytestmark = pytest.mark.browser

PAGES = (
    "/",
    "/sla",
    "/sequences",
    "/leak",
    "/outbox",
    "/workspace",
    "/jobs",
    "/admin/users",
    "/admin/api-keys",
)

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(el => el.type !== 'hidden')
  .filter(el => {
    const named = el.getAttribute('aria-label') || (el.labels && el.labels.length)
      || (el.tagName === 'BUTTON' && el.textContent.trim());
    return !named;
  })
  .map(el => el.outerHTML.slice(0, 80))"""

LOW_CONTRAST = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (let node = el; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const poor = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.offsetParent) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < 4.5) poor.push(el.tagName + ' ' + ratio.toFixed(2) + ' ' + text);
  }
  return poor;
}"""


def test_every_page_is_labelled_readable_and_fits_a_phone(live_server, page) -> None:  # type: ignore[no-untyped-def]
    runtime = live_server.runtime
    lead = make_lead(runtime.db, runtime.clock.now(), first="Checked", owner=None)
    judge(runtime.db, lead)
    log_in(page, live_server.url, "admin")

    for size in ({"width": 1280, "height": 900}, {"width": 360, "height": 740}):
        page.set_viewport_size(size)
        for path in (*PAGES, f"/leads/{lead}"):
            page.goto(f"{live_server.url}{path}")
            where = f"{path} at {size['width']}px"
            assert page.locator("h1").count() == 1, f"{where}: one h1 expected"
            assert page.evaluate(UNLABELLED) == [], f"{where}: unlabelled controls"
            assert page.evaluate(LOW_CONTRAST) == [], f"{where}: low contrast"
            assert page.evaluate(
                "document.documentElement.scrollWidth <= window.innerWidth + 1"
            ), f"{where}: scrolls sideways"
