"""The qualify.inbound job on SQLite and PostgreSQL: it stores a score, a
brief and a route with the ICP version, alerts the owner for rep_now,
never runs twice for one ICP version, and never waits on a slow source."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from firsttouch.clock import VirtualClock
from firsttouch.config import Settings
from firsttouch.errors import EnrichmentError
from firsttouch.jobs.queue import enqueue
from firsttouch.jobs.runner import run_until_idle
from firsttouch.qualify.facts import FactSheet
from firsttouch.qualify.handlers import build_providers
from firsttouch.qualify.providers.offline import EmailProvider, TitleProvider
from firsttouch.qualify.qualification import latest_qualification, qualify_inbound
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, EnrichmentCacheEntry, Inbound, Job
from firsttouch.worker import build_worker
from firsttouch.workspace import Workspace


def add_lead(
    db: Database, clock: VirtualClock, *, key: str = "t:1", **contact: Any
) -> int:
    values: dict[str, Any] = {
        "email": "dana.ruiz@acme-analytics.com",
        "first_name": "Dana",
        "last_name": "Ruiz",
        "title": "VP Sales",
        "company_name": "Acme Analytics",
        "country": "US",
        "attributes": {
            "employees": 200,
            "industry": "SaaS",
            "website": "https://www.acme-analytics.com",
        },
    }
    values.update(contact)
    values["email_norm"] = (values.get("email") or "").lower() or None
    with db.transaction() as session:
        person = Contact(**values)
        session.add(person)
        session.flush()
        inbound = Inbound(
            dedupe_key=key,
            received_at=clock.now(),
            channel="web_form",
            kind="form",
            source="website",
            contact_id=person.id,
            subject="Book a demo",
            body_text="We want a demo this quarter.",
            fields={"form": "demo-request"},
        )
        session.add(inbound)
        session.flush()
        return inbound.id


class SlowProvider:
    name = "website"
    cacheable = True

    def __init__(self, seconds: float):
        self.seconds = seconds

    def key(self, facts: FactSheet) -> str | None:
        return facts.get("website_domain") or facts.get("domain")

    def lookup(self, key: str, facts: FactSheet) -> dict[str, Any]:
        time.sleep(self.seconds)
        return {"technologies": ["NetSuite"]}


class BrokenProvider:
    name = "people_data_labs"
    cacheable = True

    def key(self, facts: FactSheet) -> str | None:
        return "acme-analytics.com"

    def lookup(self, key: str, facts: FactSheet) -> dict[str, Any]:
        raise EnrichmentError("People Data Labs answered HTTP 429: the rate limit")


class CountingProvider:
    name = "dns"
    cacheable = True

    def __init__(self) -> None:
        self.calls = 0

    def key(self, facts: FactSheet) -> str | None:
        return facts.get("domain")

    def lookup(self, key: str, facts: FactSheet) -> dict[str, Any]:
        self.calls += 1
        return {"mail_host": "google_workspace"}


def _offline() -> list[Any]:
    return [EmailProvider(), TitleProvider()]


def test_a_rep_now_lead_is_stored_and_its_owner_alerted(
    any_db: Database, clock: VirtualClock, workspace: Workspace
) -> None:
    inbound_id = add_lead(any_db, clock)
    outcome = qualify_inbound(
        any_db, workspace, inbound_id, providers=_offline(), now=clock.now()
    )
    assert outcome is not None and outcome.score.route == "rep_now"

    with any_db.transaction() as session:
        row = latest_qualification(session, inbound_id)
        assert row is not None
        assert row.route == "rep_now" and row.score == outcome.score.total
        assert row.icp_version == workspace.icp.version
        assert row.facts["title"] == {"value": "VP Sales", "source": "lead"}
        assert sum(c["points"] for c in row.reasons["criteria"]) == row.score
        assert row.brief.startswith("Dana Ruiz, VP Sales (lead)")
        assert row.brief_source == "template"
        assert row.created_at == clock.now()
        jobs = session.scalars(select(Job).where(Job.kind == "respond.alert_owner"))
        alert = [(j.idempotency_key, j.payload["inbound_id"]) for j in jobs]
    assert alert == [(f"alert:{inbound_id}", inbound_id)]


def test_a_disqualified_lead_is_stored_with_its_reason_and_no_alert(
    any_db: Database, clock: VirtualClock, workspace: Workspace
) -> None:
    inbound_id = add_lead(
        any_db, clock, email="sam1999@gmail.com", title="Student", attributes={}
    )
    qualify_inbound(
        any_db, workspace, inbound_id, providers=_offline(), now=clock.now()
    )
    with any_db.transaction() as session:
        row = latest_qualification(session, inbound_id)
        assert row is not None and row.route == "disqualified"
        assert "student" in (row.disqualified_reason or "")
        assert (
            session.scalar(select(Job).where(Job.kind == "respond.alert_owner")) is None
        )


def test_a_retried_job_adds_nothing_under_the_same_icp_version(
    any_db: Database, clock: VirtualClock, workspace: Workspace
) -> None:
    inbound_id = add_lead(any_db, clock)
    first = qualify_inbound(
        any_db, workspace, inbound_id, providers=_offline(), now=clock.now()
    )
    again = qualify_inbound(
        any_db, workspace, inbound_id, providers=_offline(), now=clock.now()
    )
    assert first is not None and again is not None
    assert (again.created, again.qualification_id) == (False, first.qualification_id)
    assert again.score.total == first.score.total


def test_a_changed_icp_version_is_scored_again_beside_the_old_one(
    any_db: Database, clock: VirtualClock, workspace: Workspace
) -> None:
    inbound_id = add_lead(any_db, clock)
    qualify_inbound(
        any_db, workspace, inbound_id, providers=_offline(), now=clock.now()
    )
    stricter = workspace.model_copy(
        update={
            "icp": workspace.icp.model_copy(
                update={
                    "version": "2027-01-01",
                    "routes": workspace.icp.routes.model_copy(update={"rep_now": 95}),
                }
            )
        }
    )
    clock.advance(timedelta(seconds=60))
    outcome = qualify_inbound(
        any_db, stricter, inbound_id, providers=_offline(), now=clock.now()
    )
    assert outcome is not None and outcome.score.route == "fast_track"
    with any_db.transaction() as session:
        latest = latest_qualification(session, inbound_id)
        assert latest is not None and latest.icp_version == "2027-01-01"


def test_a_slow_and_a_failing_source_never_block_the_score(
    any_db: Database, clock: VirtualClock, workspace: Workspace
) -> None:
    icp = workspace.icp.model_copy(
        update={
            "enrichment": workspace.icp.enrichment.model_copy(
                update={"budget_seconds": 0.3}
            )
        }
    )
    fast_budget = workspace.model_copy(update={"icp": icp})
    inbound_id = add_lead(any_db, clock)
    started = time.monotonic()
    outcome = qualify_inbound(
        any_db,
        fast_budget,
        inbound_id,
        now=clock.now(),
        providers=[*_offline(), BrokenProvider(), SlowProvider(2.0)],
    )
    assert time.monotonic() - started < 2.0
    assert outcome is not None and outcome.score.route == "rep_now"
    with any_db.transaction() as session:
        row = latest_qualification(session, inbound_id)
        assert row is not None
        status = {s["provider"]: s["status"] for s in row.sources}
        errors = {s["provider"]: s["error"] for s in row.sources}
        # Nothing was learnt from either, so nothing was cached.
        assert session.scalar(select(EnrichmentCacheEntry)) is None
    assert status == {
        "email": "ok",
        "title": "ok",
        "people_data_labs": "failed",
        "website": "timeout",
    }
    assert "429" in errors["people_data_labs"]


def test_answers_are_cached_per_domain_until_they_expire(
    any_db: Database, clock: VirtualClock, workspace: Workspace
) -> None:
    counting = CountingProvider()
    providers = [*_offline(), counting]
    for n in range(3):
        inbound_id = add_lead(
            any_db, clock, key=f"t:{n}", email=f"p{n}@acme-analytics.com"
        )
        qualify_inbound(
            any_db, workspace, inbound_id, providers=providers, now=clock.now()
        )
    assert counting.calls == 1
    with any_db.transaction() as session:
        row = latest_qualification(session, inbound_id)
        assert row is not None
        assert row.facts["mail_host"] == {"value": "google_workspace", "source": "dns"}
        assert {s["provider"]: s["status"] for s in row.sources}["dns"] == "cached"

    clock.advance(timedelta(hours=workspace.icp.enrichment.cache_ttl_hours, seconds=1))
    inbound_id = add_lead(any_db, clock, key="t:late", email="late@acme-analytics.com")
    qualify_inbound(any_db, workspace, inbound_id, providers=providers, now=clock.now())
    assert counting.calls == 2


def test_the_worker_runs_qualify_inbound_from_the_queue(
    runtime: Runtime, clock: VirtualClock
) -> None:
    inbound_id = add_lead(runtime.db, clock)
    runtime.services["qualify.providers"] = _offline()
    with runtime.db.transaction() as session:
        enqueue(
            session,
            "qualify.inbound",
            {"inbound_id": inbound_id},
            key=f"qualify:{inbound_id}",
            now=clock.now(),
        )
    worker = build_worker(runtime)
    worker.handlers.setdefault("respond.alert_owner", lambda ctx: None)
    run_until_idle(worker)
    with runtime.db.transaction() as session:
        row = latest_qualification(session, inbound_id)
        assert row is not None and row.route == "rep_now"


def test_a_missing_inbound_is_logged_not_raised(
    db: Database, clock: VirtualClock, workspace: Workspace
) -> None:
    assert (
        qualify_inbound(db, workspace, 999, providers=_offline(), now=clock.now())
        is None
    )


def test_the_example_workspace_turns_on_only_offline_sources(
    settings: Settings, db: Database, workspace: Workspace, clock: VirtualClock
) -> None:
    runtime = Runtime(settings=settings, db=db, workspace=workspace, clock=clock)
    assert [p.name for p in build_providers(runtime)] == ["email", "title"]


def test_the_company_website_fills_in_what_the_lead_did_not_say(
    db: Database, clock: VirtualClock, workspace: Workspace
) -> None:
    from firsttouch.qualify.providers.ssrf import AddressPolicy
    from firsttouch.qualify.providers.website import WebsiteProvider

    from .loopback import Reply, serve

    page = (
        "<html lang='en'><title>Acme Analytics</title>"
        '<script type="application/ld+json">{"@type": "Organization", '
        '"name": "Acme Analytics", "numberOfEmployees": 240, '
        '"address": {"addressCountry": "US"}}</script></html>'
    )
    inbound_id = add_lead(db, clock, country=None, attributes={"industry": "SaaS"})
    with serve({"/": Reply(body=page)}) as server:
        site = WebsiteProvider(
            scheme="http",
            port=server.port,
            resolver=lambda host, port: ["127.0.0.1"],
            policy=AddressPolicy.for_loopback_tests(),
        )
        outcome = qualify_inbound(
            db, workspace, inbound_id, now=clock.now(), providers=[*_offline(), site]
        )
    assert outcome is not None and outcome.score.route == "rep_now"
    assert "240 employees (website)" in outcome.brief
    with db.transaction() as session:
        row = latest_qualification(session, inbound_id)
        assert row is not None
        assert row.facts["employees"] == {"value": 240, "source": "website"}
        assert row.facts["country"] == {"value": "US", "source": "website"}
        cached = session.scalar(select(EnrichmentCacheEntry))
        assert cached is not None and cached.key == "acme-analytics.com"


def test_an_llm_rewrite_is_stored_as_the_brief_with_its_source(
    any_db: Database, clock: VirtualClock, workspace: Workspace
) -> None:
    from firsttouch.qualify.llm_brief import LlmBriefWriter

    from .loopback import Reply, serve

    text = "Dana Ruiz (lead), VP Sales at Acme Analytics (lead), asked for a demo."
    answer = {"choices": [{"message": {"role": "assistant", "content": text}}]}
    inbound_id = add_lead(any_db, clock)
    with serve({"/v1/chat/completions": Reply(body=answer)}) as server:
        writer = LlmBriefWriter(base_url=server.url + "/v1", model="local", timeout=2)
        qualify_inbound(
            any_db,
            workspace,
            inbound_id,
            providers=_offline(),
            llm=writer,
            now=clock.now(),
        )
    with any_db.transaction() as session:
        row = latest_qualification(session, inbound_id)
        assert row is not None
        assert (row.brief, row.brief_source) == (text, "llm")


def test_a_form_titled_with_its_own_name_shows_no_buying_intent(
    db: Database, clock: VirtualClock, workspace: Workspace
) -> None:
    """ "Book a demo" is the form's title, not the buyer asking for a demo."""
    from firsttouch.capture.forms import form_to_event
    from firsttouch.capture.ingest import ingest

    form = workspace.forms["demo-request"]
    assert form.name == "Book a demo"
    event = form_to_event(
        "demo-request",
        form,
        {"email": "dana.ruiz@acme-analytics.com", "title": "VP Sales"},
        default_region="US",
        dedupe_key="form:title-test",
    )
    runtime = Runtime(settings=Settings(), db=db, workspace=workspace, clock=clock)
    inbound_id = ingest(runtime, event).inbound_id

    outcome = qualify_inbound(
        db, workspace, inbound_id, providers=_offline(), now=clock.now()
    )

    assert outcome is not None
    with db.transaction() as session:
        row = latest_qualification(session, inbound_id)
        assert row is not None
        assert "subject" not in row.facts
        intent = [c for c in row.reasons["criteria"] if "intent" in c["name"]]
        assert all(c["points"] <= 0 for c in intent), intent
