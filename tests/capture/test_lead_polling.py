"""Cursor polling of Meta lead forms and LinkedIn ad accounts, against
loopback servers that speak each list endpoint: paging, the cursor and its
overlap, restarts, the webhook's key, throttling and a refused token."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from structlog.testing import capture_logs

from firsttouch.capture.polling import (
    FIRST_LOOKBACK,
    LEAD_POLL_KIND,
    OVERLAP,
    LeadPollError,
    PollTarget,
    poll_target,
    poll_targets,
    read_cursor,
    schedule_lead_polling,
)
from firsttouch.clock import VirtualClock
from firsttouch.config import Settings
from firsttouch.errors import ConfigError
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Job
from firsttouch.worker import build_worker
from firsttouch.workspace import Workspace
from firsttouch.workspace.capture import Capture, LinkedInLeads
from tests.capture.graph_server import GraphFake, graph_error
from tests.capture.lead_ads_support import (
    ACCOUNT,
    FORM,
    ORGANIZATION,
    PAGE,
    PAGE_TOKEN,
    lead_ads_env,
    linkedin_response,
    meta_lead,
    organic_response,
)
from tests.capture.linkedin_server import LinkedInFake, linkedin_error
from tests.capture.provider_support import (
    SECRETS,
    fixture_bytes,
    fixture_json,
    inbounds,
)
from tests.conftest import T0

META = PollTarget("meta", FORM, "META_PAGE_ACCESS_TOKEN", PAGE)
LINKEDIN = PollTarget(
    "linkedin", ACCOUNT, "LINKEDIN_ACCESS_TOKEN", lead_types=("SPONSORED",)
)


@pytest.fixture
def polling(runtime: Runtime, graph: GraphFake, linkedin: LinkedInFake) -> Runtime:
    runtime.settings = lead_ads_env(runtime.settings, graph, linkedin)
    return runtime


def list_requests(graph: GraphFake) -> list[dict[str, str]]:
    return [r["query"] for r in graph.requests if r["path"].endswith("/leads")]


def finder_requests(linkedin: LinkedInFake) -> list[str]:
    return [
        r["query"] for r in linkedin.requests if r["path"] == "/rest/leadFormResponses"
    ]


def queued_polls(runtime: Runtime) -> list[Job]:
    with runtime.db.sessions() as session:
        return list(
            session.scalars(
                select(Job)
                .where(Job.kind == LEAD_POLL_KIND, Job.state == "queued")
                .order_by(Job.due_at)
            )
        )


# -- settings -----------------------------------------------------------------


def test_targets_come_from_the_environment(settings: Settings) -> None:
    configured = settings.with_overrides(
        env={
            "META_LEAD_FORMS": f"{FORM}, {PAGE}/700700700701",
            f"META_PAGE_ACCESS_TOKEN_{PAGE}": "page-token",
            "LINKEDIN_AD_ACCOUNTS": "808,urn:li:sponsoredAccount:909",
            "LINKEDIN_ORGANIZATIONS": "2414183",
        }
    )
    organic = ("EVENT", "COMPANY", "ORGANIZATION_PRODUCT")
    assert poll_targets(configured) == [
        PollTarget("meta", FORM, "META_PAGE_ACCESS_TOKEN"),
        PollTarget("meta", "700700700701", f"META_PAGE_ACCESS_TOKEN_{PAGE}", PAGE),
        LINKEDIN,
        PollTarget(
            "linkedin",
            "urn:li:sponsoredAccount:909",
            "LINKEDIN_ACCESS_TOKEN",
            lead_types=("SPONSORED",),
        ),
        PollTarget(
            "linkedin", ORGANIZATION, "LINKEDIN_ACCESS_TOKEN", lead_types=organic
        ),
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("META_LEAD_FORMS", "my-form"),
        ("LINKEDIN_AD_ACCOUNTS", "urn:li:person:1"),
        ("LINKEDIN_ORGANIZATIONS", "urn:li:sponsoredAccount:808"),
    ],
)
def test_a_malformed_target_names_the_variable(
    settings: Settings, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        poll_targets(settings.with_overrides(env={name: value}))


def test_nothing_is_scheduled_without_targets(runtime: Runtime) -> None:
    assert schedule_lead_polling(runtime) == []
    assert queued_polls(runtime) == []


# -- Meta ---------------------------------------------------------------------


def test_meta_poll_pages_through_the_last_day_and_sets_the_cursor(
    polling: Runtime, graph: GraphFake
) -> None:
    for n in range(5):
        graph.form_lead(FORM, meta_lead(n, T0 - timedelta(hours=n + 1)))
    graph.form_lead(FORM, meta_lead(9, T0 - FIRST_LOOKBACK - timedelta(minutes=1)))

    result = poll_target(polling, META)

    assert (result.seen, result.captured, result.duplicates) == (5, 5, 0)
    stored = inbounds(polling)
    assert sorted(i.dedupe_key for i in stored) == [
        f"meta:leadgen:9101000{n:05d}" for n in range(5)
    ]
    lead = next(i for i in stored if i.dedupe_key.endswith("00000"))
    assert (lead.source, lead.channel, lead.provider) == (
        "meta_lead_ads",
        "lead_ad",
        "meta",
    )
    assert lead.fields["form_id"] == FORM and lead.fields["page_id"] == PAGE
    assert lead.contact_id and lead.owner_id
    # Three pages of at most two, each asked with the page token and the window.
    asked = list_requests(graph)
    assert len(asked) == 3
    assert [("after" in q) for q in asked] == [False, True, True]
    window = json.loads(asked[0]["filtering"])
    assert window == [
        {
            "field": "time_created",
            "operator": "GREATER_THAN",
            "value": int((T0 - FIRST_LOOKBACK).timestamp()),
        }
    ]
    assert all(q["access_token"] == PAGE_TOKEN for q in asked)
    assert "appsecret_proof" in asked[0]
    assert read_cursor(polling, META) == T0 - timedelta(hours=1)


def test_the_page_token_never_reaches_the_log(
    polling: Runtime, graph: GraphFake, caplog: pytest.LogCaptureFixture
) -> None:
    graph.form_lead(FORM, meta_lead(1, T0 - timedelta(minutes=3)))
    with caplog.at_level(logging.INFO, logger="httpx"):
        poll_target(polling, META)
    assert "HTTP Request: GET" in caplog.text
    assert "access_token=[redacted]" in caplog.text
    assert PAGE_TOKEN not in caplog.text


def test_the_cursor_survives_a_restart_and_the_overlap_is_free(
    polling: Runtime, graph: GraphFake
) -> None:
    graph.form_lead(FORM, meta_lead(1, T0 - timedelta(minutes=30)))
    graph.form_lead(FORM, meta_lead(2, T0 - timedelta(minutes=2)))
    poll_target(polling, META)

    # A new process: a new database handle, the same file.
    restarted = Runtime(
        settings=polling.settings,
        db=Database(polling.db.url),
        workspace=polling.workspace,
        clock=polling.clock,
    )
    try:
        polling.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
        graph.form_lead(FORM, meta_lead(3, T0 + timedelta(minutes=5)))
        graph.requests.clear()
        result = poll_target(restarted, META)
    finally:
        restarted.db.dispose()

    # Asked from the newest lead less the overlap: lead 2 again (a no-op), lead 3 new.
    [asked] = list_requests(graph)
    since = json.loads(asked["filtering"])[0]["value"]
    assert since == int((T0 - timedelta(minutes=2) - OVERLAP).timestamp())
    assert (result.seen, result.captured, result.duplicates) == (2, 1, 1)
    assert len(inbounds(polling)) == 3
    assert read_cursor(polling, META) == T0 + timedelta(minutes=5)


def test_polling_and_its_cursor_on_both_engines(
    polling_any: Runtime, graph: GraphFake, linkedin: LinkedInFake
) -> None:
    runtime = polling_any
    graph.form_lead(FORM, meta_lead(1, T0 - timedelta(minutes=40)))
    graph.form_lead(FORM, meta_lead(2, T0 - timedelta(minutes=4)))
    linkedin.response(ACCOUNT, linkedin_response(1, T0 - timedelta(minutes=8)))

    assert [poll_target(runtime, t).captured for t in (META, LINKEDIN)] == [2, 1]
    assert [poll_target(runtime, t).captured for t in (META, LINKEDIN)] == [0, 0]

    assert len(inbounds(runtime)) == 3
    assert read_cursor(runtime, META) == T0 - timedelta(minutes=4)
    assert read_cursor(runtime, LINKEDIN) == T0 - timedelta(minutes=8)


def sign_meta(body: bytes) -> dict[str, str]:
    digest = hmac.new(
        SECRETS["META_APP_SECRET"].encode(), body, hashlib.sha256
    ).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


def test_a_meta_lead_from_the_webhook_then_the_poll_is_one_inbound(
    polling: Runtime, graph: GraphFake, client: TestClient
) -> None:
    record = fixture_json("meta_graph_lead.json")
    graph.lead(record["id"], record)
    graph.form_lead(FORM, record)
    body = fixture_bytes("meta_leadgen_notification.json")
    assert client.post("/capture/meta/leads", content=body, headers=sign_meta(body))

    result = poll_target(polling, META)

    assert (result.seen, result.captured, result.duplicates) == (1, 0, 1)
    [stored] = inbounds(polling)
    assert stored.dedupe_key == f"meta:leadgen:{record['id']}"
    assert stored.fields["answers"]["email"].startswith("tomas.ferreira@")


def test_a_throttled_meta_poll_comes_back_after_retry_after(
    polling: Runtime, graph: GraphFake
) -> None:
    graph.form_lead(FORM, meta_lead(1, T0 - timedelta(minutes=3)))
    throttled = graph_error(4, "Application request limit reached", "OAuthException")
    graph.fail_list(429, throttled, {"Retry-After": "120"})
    polling.settings = polling.settings.with_overrides(
        env={**polling.settings.env, "LINKEDIN_AD_ACCOUNTS": ""}
    )
    worker = build_worker(polling, worker_id="poll-test")

    assert schedule_lead_polling(polling) == [META]
    with capture_logs() as logs:
        worker.run_once()

    assert inbounds(polling) == []
    [retry, following] = queued_polls(polling)
    assert retry.payload["retry"] == 1
    assert retry.due_at == T0 + timedelta(seconds=120)
    assert following.due_at == T0 + timedelta(seconds=300) and "retry" not in (
        following.payload
    )
    [warning] = [e for e in logs if e["event"] == "lead_poll.retry_later"]
    assert warning["wait_seconds"] == 120.0

    polling.clock.advance(timedelta(seconds=121))  # type: ignore[attr-defined]
    worker.run_once()
    assert len(inbounds(polling)) == 1
    # The retry queued no cycle of its own: the next poll is still the one.
    assert [j.id for j in queued_polls(polling) if j.kind == LEAD_POLL_KIND][
        -1
    ] == following.id


def test_a_refused_meta_token_is_logged_naming_the_variable_and_polling_goes_on(
    polling: Runtime, graph: GraphFake
) -> None:
    graph.form_lead(FORM, meta_lead(1, T0 - timedelta(minutes=3)))
    graph.token = "EAAB-the-token-meta-knows"
    worker = build_worker(polling, worker_id="poll-test")

    schedule_lead_polling(polling)
    with capture_logs() as logs:
        worker.run_once()

    [failed] = [e for e in logs if e["event"] == "lead_poll.failed"]
    assert failed["provider"] == "meta" and failed["token_refused"] is True
    assert "META_PAGE_ACCESS_TOKEN" in failed["reason"]
    assert "Session has expired" in failed["reason"]
    assert PAGE_TOKEN not in json.dumps(logs, default=str)
    assert [j for j in queued_polls(polling) if j.payload.get("retry")] == []
    # The same worker pass polled LinkedIn all the same; the cycle goes on.
    assert {j.payload["provider"] for j in queued_polls(polling)} == {
        "meta",
        "linkedin",
    }


def test_a_missing_token_names_the_variable_to_set(
    polling: Runtime, graph: GraphFake
) -> None:
    env = {
        k: v for k, v in polling.settings.env.items() if k != "META_PAGE_ACCESS_TOKEN"
    }
    polling.settings = polling.settings.with_overrides(env=env)
    worker = build_worker(polling, worker_id="poll-test")
    schedule_lead_polling(polling)
    with capture_logs() as logs:
        worker.run_once()
    [failed] = [e for e in logs if e["event"] == "lead_poll.failed"]
    assert "set META_PAGE_ACCESS_TOKEN" in failed["reason"]
    assert list_requests(graph) == []


# -- LinkedIn -----------------------------------------------------------------


def test_linkedin_poll_pages_through_the_finder_with_the_form_answers(
    polling: Runtime, linkedin: LinkedInFake
) -> None:
    for n in range(5):
        linkedin.response(ACCOUNT, linkedin_response(n, T0 - timedelta(hours=n + 1)))

    result = poll_target(polling, LINKEDIN)

    assert (result.seen, result.captured) == (5, 5)
    stored = {i.dedupe_key: i for i in inbounds(polling)}
    key = "linkedin:urn:li:leadGenFormResponse:resp-0002:created"
    lead = stored[key]
    assert lead.fields["answers"]["email"] == "member2@works2.example"
    assert lead.fields["owner_urn"] == ACCOUNT
    assert lead.campaign == "urn:li:sponsoredCampaign:4242"
    assert lead.occurred_at == T0 - timedelta(hours=3)
    # Rest.li 2.0 queries, three pages of two, the form read once.
    asked = finder_requests(linkedin)
    assert len(asked) == 3
    first = parse_qs(asked[0])
    assert first["start"] == ["0"] and parse_qs(asked[2])["start"] == ["4"]
    assert "owner=(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A808)" in asked[0]
    start_ms = int((T0 - FIRST_LOOKBACK).timestamp() * 1000)
    assert f"submittedAtTimeRange=(start:{start_ms},end:" in asked[0]
    forms = [r for r in linkedin.requests if r["path"].startswith("/rest/leadForms/")]
    assert len(forms) == 1
    assert read_cursor(polling, LINKEDIN) == T0 - timedelta(hours=1)


def test_a_form_linkedin_will_not_give_still_stores_its_leads(
    polling: Runtime, linkedin: LinkedInFake
) -> None:
    linkedin.forms.clear()
    linkedin.response(ACCOUNT, linkedin_response(1, T0 - timedelta(minutes=3)))

    assert poll_target(polling, LINKEDIN).captured == 1

    [stored] = inbounds(polling)
    assert stored.fields["answers"]["question_3"] == "member1@works1.example"


def sign_linkedin(body: bytes) -> dict[str, str]:
    secret = SECRETS["LINKEDIN_CLIENT_SECRET"].encode()
    return {"X-LI-Signature": hmac.new(secret, body, hashlib.sha256).hexdigest()}


def test_a_linkedin_lead_from_the_webhook_then_the_poll_is_one_inbound(
    polling: Runtime, linkedin: LinkedInFake, client: TestClient
) -> None:
    response = fixture_json("linkedin_form_response.json")
    response["submittedAt"] = int((T0 - timedelta(minutes=1)).timestamp() * 1000)
    linkedin.response(ACCOUNT, response)
    body = fixture_bytes("linkedin_lead_created.json")
    posted = client.post("/capture/linkedin", content=body, headers=sign_linkedin(body))
    assert posted.status_code == 200
    [webhook] = inbounds(polling)

    result = poll_target(polling, LINKEDIN)

    assert (result.seen, result.captured, result.duplicates) == (1, 0, 1)
    [stored] = inbounds(polling)
    assert stored.id == webhook.id
    assert stored.fields["answers"]["email"] == "h.tanaka@osaka-precision.example"


def test_a_throttled_linkedin_poll_comes_back_after_retry_after(
    polling: Runtime, linkedin: LinkedInFake
) -> None:
    linkedin.response(ACCOUNT, linkedin_response(1, T0 - timedelta(minutes=3)))
    throttled = linkedin_error(429, "TOO_MANY_REQUESTS", "Resource level throttle")
    linkedin.fail(429, throttled, {"Retry-After": "45"})
    polling.settings = polling.settings.with_overrides(
        env={**polling.settings.env, "META_LEAD_FORMS": ""}
    )
    worker = build_worker(polling, worker_id="poll-test")
    schedule_lead_polling(polling)
    worker.run_once()

    [retry, _] = queued_polls(polling)
    assert retry.payload["retry"] == 1
    assert retry.due_at == T0 + timedelta(seconds=45)
    polling.clock.advance(timedelta(seconds=46))  # type: ignore[attr-defined]
    worker.run_once()
    assert len(inbounds(polling)) == 1


def test_a_refused_linkedin_token_names_its_variable(
    polling: Runtime, linkedin: LinkedInFake
) -> None:
    linkedin.token = "a-newer-token"
    worker = build_worker(polling, worker_id="poll-test")
    schedule_lead_polling(polling)
    with capture_logs() as logs:
        worker.run_once()
    [failed] = [
        e
        for e in logs
        if e["event"] == "lead_poll.failed" and e["provider"] == "linkedin"
    ]
    assert "LINKEDIN_ACCESS_TOKEN" in failed["reason"]
    assert "401" in failed["reason"]


# -- LinkedIn organic leads ---------------------------------------------------

ORGANIC = ("EVENT", "COMPANY", "ORGANIZATION_PRODUCT")
ORG_TARGET = PollTarget(
    "linkedin", ORGANIZATION, "LINKEDIN_ACCESS_TOKEN", lead_types=ORGANIC
)


def with_lead_types(workspace: Workspace, *lead_types: str) -> Workspace:
    linkedin = LinkedInLeads.model_validate({"lead_types": list(lead_types)})
    return workspace.model_copy(update={"capture": Capture(linkedin=linkedin)})


def organic_runtime(
    db: Database,
    settings: Settings,
    workspace: Workspace,
    clock: VirtualClock,
    graph: GraphFake,
    linkedin: LinkedInFake,
) -> Runtime:
    return Runtime(
        settings=lead_ads_env(
            settings.with_overrides(database_url=db.url),
            graph,
            linkedin,
            META_LEAD_FORMS="",
            LINKEDIN_AD_ACCOUNTS="",
            LINKEDIN_ORGANIZATIONS="2414183",
        ),
        db=db,
        workspace=workspace,
        clock=clock,
    )


def test_an_organization_is_polled_for_each_organic_lead_type_on_both_engines(
    any_db: Database,
    settings: Settings,
    workspace: Workspace,
    clock: VirtualClock,
    graph: GraphFake,
    linkedin: LinkedInFake,
) -> None:
    runtime = organic_runtime(any_db, settings, workspace, clock, graph, linkedin)
    for n, lead_type in enumerate(ORGANIC):
        submitted = T0 - timedelta(minutes=10 * (n + 1))
        linkedin.response(ORGANIZATION, organic_response(n, submitted, lead_type))

    [target] = schedule_lead_polling(runtime)
    first = poll_target(runtime, target)
    again = poll_target(runtime, target)

    assert target == ORG_TARGET
    assert (first.seen, first.captured) == (3, 3)
    # The second poll starts at the cursor less the overlap: the newest lead.
    assert (again.seen, again.captured, again.duplicates) == (1, 0, 1)
    stored = {i.fields["lead_type"]: i for i in inbounds(runtime)}
    assert sorted(stored) == sorted(ORGANIC)
    event = stored["EVENT"]
    assert event.fields["owner_urn"] == ORGANIZATION
    assert event.fields["associated_entity"] == {"event": "urn:li:event:7123456789"}
    assert event.fields["answers"]["email"] == "member0@works0.example"
    assert event.contact_id is not None and event.owner_id is not None
    asked = finder_requests(linkedin)
    owner = "owner=(organization:urn%3Ali%3Aorganization%3A2414183)"
    assert all(owner in query for query in asked)
    assert [parse_qs(q)["leadType"] for q in asked[:3]] == [
        [f"(leadType:{lead_type})"] for lead_type in ORGANIC
    ]
    assert read_cursor(runtime, target) == T0 - timedelta(minutes=10)


def test_the_workspace_narrows_the_lead_types_polled(
    db: Database,
    settings: Settings,
    workspace: Workspace,
    clock: VirtualClock,
    graph: GraphFake,
    linkedin: LinkedInFake,
) -> None:
    events_only = with_lead_types(workspace, "SPONSORED", "EVENT")
    runtime = organic_runtime(db, settings, events_only, clock, graph, linkedin)
    linkedin.response(ORGANIZATION, organic_response(1, T0, "EVENT"))
    linkedin.response(ORGANIZATION, organic_response(2, T0, "COMPANY"))

    [target] = schedule_lead_polling(runtime)
    result = poll_target(runtime, target)

    assert target.lead_types == ("EVENT",)
    assert result.captured == 1
    assert [i.fields["lead_type"] for i in inbounds(runtime)] == ["EVENT"]
    assert all("leadType=(leadType:EVENT)" in q for q in finder_requests(linkedin))


def test_an_owner_with_none_of_its_lead_types_wanted_is_a_config_error(
    settings: Settings, workspace: Workspace
) -> None:
    sponsored_only = with_lead_types(workspace, "SPONSORED")
    configured = settings.with_overrides(env={"LINKEDIN_ORGANIZATIONS": "2414183"})

    with pytest.raises(ConfigError, match="LINKEDIN_ORGANIZATIONS") as raised:
        poll_targets(configured, sponsored_only)
    assert "capture.linkedin.lead_types" in str(raised.value)


def test_a_throttled_lead_type_holds_the_cursor_and_loses_nothing(
    db: Database,
    settings: Settings,
    workspace: Workspace,
    clock: VirtualClock,
    graph: GraphFake,
    linkedin: LinkedInFake,
) -> None:
    runtime = organic_runtime(db, settings, workspace, clock, graph, linkedin)
    linkedin.page_size = 10
    linkedin.response(ORGANIZATION, organic_response(1, T0, "EVENT"))
    linkedin.response(
        ORGANIZATION, organic_response(2, T0 - timedelta(hours=2), "COMPANY")
    )
    # EVENT's listing answers; COMPANY's (the next finder call) is throttled.
    event_page = {
        "elements": [organic_response(1, T0, "EVENT")],
        "paging": {"total": 1},
    }
    linkedin.failures.append((200, event_page, {}))
    throttled = linkedin_error(429, "TOO_MANY_REQUESTS", "Resource level throttle")
    linkedin.fail(429, throttled, {"Retry-After": "30"})

    with pytest.raises(LeadPollError, match="COMPANY leads") as raised:
        poll_target(runtime, ORG_TARGET)
    assert raised.value.retryable and raised.value.retry_after == 30
    assert read_cursor(runtime, ORG_TARGET) is None
    assert [i.fields["lead_type"] for i in inbounds(runtime)] == ["EVENT"]

    result = poll_target(runtime, ORG_TARGET)

    # The same window again: the event lead is a duplicate, the company one new.
    assert (result.captured, result.duplicates) == (1, 1)
    assert sorted(i.fields["lead_type"] for i in inbounds(runtime)) == [
        "COMPANY",
        "EVENT",
    ]
    assert read_cursor(runtime, ORG_TARGET) == T0


def test_an_unknown_lead_type_in_the_workspace_names_the_field(
    workspace: Workspace,
) -> None:
    with pytest.raises(ValueError, match="lead_types"):
        with_lead_types(workspace, "WEBINAR")


# -- the cycle ----------------------------------------------------------------


def test_two_processes_starting_together_queue_one_poll_per_target(
    polling: Runtime,
) -> None:
    assert schedule_lead_polling(polling) == [META, LINKEDIN]
    schedule_lead_polling(polling)
    assert sorted(j.payload["provider"] for j in queued_polls(polling)) == [
        "linkedin",
        "meta",
    ]


def test_the_cycle_polls_every_interval_and_stops_when_unconfigured(
    polling: Runtime, graph: GraphFake
) -> None:
    polling.settings = polling.settings.with_overrides(
        env={**polling.settings.env, "LINKEDIN_AD_ACCOUNTS": ""}
    )
    worker = build_worker(polling, worker_id="poll-test")
    schedule_lead_polling(polling)
    worker.run_once()
    while worker.run_once():  # the first lead's own jobs, if any
        pass
    assert len(list_requests(graph)) == 1

    graph.form_lead(FORM, meta_lead(1, T0 + timedelta(minutes=1)))
    polling.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    worker.run_once()
    assert len(inbounds(polling)) == 1

    polling.settings = polling.settings.with_overrides(
        env={**polling.settings.env, "META_LEAD_FORMS": ""}
    )
    polling.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    with capture_logs() as logs:
        while worker.run_once():
            pass
    assert any(e["event"] == "lead_poll.stopped" for e in logs)
    assert queued_polls(polling) == []
