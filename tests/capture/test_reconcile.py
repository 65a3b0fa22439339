"""`firsttouch reconcile`: per source and day, what the provider holds against
what firsttouch has, the exit code ops can cron, and --fix."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from firsttouch.capture.ingest import ingest
from firsttouch.capture.providers.linkedin import response_event
from firsttouch.capture.providers.meta_leads import polled_lead_event
from firsttouch.capture.reconcile import reconcile as run_reconcile
from firsttouch.cli import EXIT_FAILED, EXIT_LEADS_MISSING, app
from firsttouch.clock import VirtualClock
from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.workspace import Workspace
from tests.capture.graph_server import GraphFake
from tests.capture.lead_ads_support import (
    ACCOUNT,
    FORM,
    ORGANIZATION,
    PAGE,
    lead_ads_env,
    linkedin_response,
    meta_lead,
    organic_response,
)
from tests.capture.linkedin_server import LinkedInFake
from tests.capture.provider_support import fixture_json, inbounds
from tests.conftest import EXAMPLE_WORKSPACE, T0

runner = CliRunner()
DAYS = ["--since", "2026-03-08", "--until", "2026-03-10"]
MISSING_ID = "910100000004"


@pytest.fixture
def week(
    runtime: Runtime,
    graph: GraphFake,
    linkedin: LinkedInFake,
    monkeypatch: pytest.MonkeyPatch,
) -> Runtime:
    """Six Meta leads over three days (one never captured), two LinkedIn ones."""
    settings = lead_ads_env(runtime.settings, graph, linkedin)
    for name, value in settings.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", runtime.db.url)

    meta_times = [
        at(8, 9),
        at(8, 23, 30),
        at(9, 0, 5),
        at(9, 12),
        at(9, 18),
        at(10, 10),
    ]
    for n, created in enumerate(meta_times):
        record = meta_lead(n, created)
        graph.form_lead(FORM, record)
        if n != 4:
            ingest(runtime, polled_lead_event(record, form_id=FORM, page_id=PAGE))
    # A lead of a form nobody asked about is not counted against this one.
    other = meta_lead(20, at(9, 13), form="700700700799")
    ingest(runtime, polled_lead_event(other, form_id="700700700799", page_id=PAGE))

    form = fixture_json("linkedin_lead_form.json")
    for n, submitted in enumerate([at(9, 8), at(9, 16)]):
        response = linkedin_response(n, submitted)
        linkedin.response(ACCOUNT, response)
        ingest(runtime, response_event(response, form))
    return runtime


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return T0.replace(day=day, hour=hour, minute=minute)


def reconcile(*args: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["reconcile", *args, "--workspace", str(EXAMPLE_WORKSPACE)]
    )
    return result.exit_code, result.stdout


def table(output: str, title: str) -> dict[str, list[str]]:
    """The rows of one source's table, by their first cell."""
    block = next(b for b in output.split("\n\n") if b.startswith(title))
    rows = [line.split() for line in block.splitlines()[2:]]
    return {row[0]: row[1:] for row in rows if row and row[0] != "missing:"}


def test_each_day_is_counted_and_a_missing_lead_exits_3(week: Runtime) -> None:
    stored = len(inbounds(week))
    code, output = reconcile(*DAYS)

    assert code == EXIT_LEADS_MISSING
    assert "Days are UTC dates" in output
    meta = table(output, "Meta Lead Ads")
    assert meta["2026-03-08"] == ["2", "2", "0"]
    assert meta["2026-03-09"] == ["3", "2", "1"]
    assert meta["2026-03-10"] == ["1", "1", "0"]
    assert meta["total"] == ["6", "5", "1"]
    linkedin = table(output, "LinkedIn Lead Gen")
    assert linkedin["2026-03-09"] == ["2", "2", "0"]
    assert linkedin["total"] == ["2", "2", "0"]
    assert f"missing: lead {MISSING_ID}, submitted 2026-03-09 18:00 UTC" in output
    assert "Run the same command with --fix to capture it." in output
    assert len(inbounds(week)) == stored  # counting writes nothing


def test_the_provider_is_asked_for_exactly_the_range(
    week: Runtime, graph: GraphFake
) -> None:
    reconcile(*DAYS)
    asked = [r["query"] for r in graph.requests if r["path"].endswith("/leads")]
    window = json.loads(asked[0]["filtering"])
    start = int(at(8, 0).timestamp()) - 1
    end = int((at(10, 0) + timedelta(days=1)).timestamp())
    assert {"field": "time_created", "operator": "GREATER_THAN", "value": start} in (
        window
    )
    assert {"field": "time_created", "operator": "LESS_THAN", "value": end} in window


def test_fix_captures_the_missing_lead_then_nothing_is_missing(week: Runtime) -> None:
    stored = len(inbounds(week))

    code, output = reconcile(*DAYS, "--fix")

    assert code == 0, output
    assert "Captured 1 missing lead now" in output
    assert f"captured now: lead {MISSING_ID}" in output
    assert table(output, "Meta Lead Ads")["2026-03-09"] == ["3", "3", "1"]
    assert len(inbounds(week)) == stored + 1
    fixed = next(i for i in inbounds(week) if i.dedupe_key.endswith(MISSING_ID))
    assert fixed.contact_id and fixed.owner_id and fixed.source == "meta_lead_ads"

    code, output = reconcile(*DAYS)
    assert code == 0, output
    assert "Every lead the providers hold is in firsttouch." in output


def test_source_limits_the_run_to_one_provider(week: Runtime) -> None:
    code, output = reconcile(*DAYS, "--source", "linkedin")
    assert code == 0, output
    assert "LinkedIn Lead Gen (ad accounts 808)" in output
    assert "Meta Lead Ads" not in output


def test_a_refused_token_exits_1_and_names_the_variable(
    week: Runtime, linkedin: LinkedInFake
) -> None:
    linkedin.token = "rotated-token"
    code, output = reconcile(*DAYS, "--source", "linkedin")
    assert code == EXIT_FAILED
    assert "could not ask LinkedIn" in output
    assert "LINKEDIN_ACCESS_TOKEN" in output
    # Not asked is not zero: the provider's columns say they are unknown.
    assert table(output, "LinkedIn Lead Gen")["2026-03-09"] == ["?", "2", "?"]


def test_without_a_configured_source_it_says_what_to_set(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", runtime.db.url)
    monkeypatch.delenv("META_LEAD_FORMS", raising=False)
    monkeypatch.delenv("LINKEDIN_AD_ACCOUNTS", raising=False)
    result = runner.invoke(
        app, ["reconcile", *DAYS, "--workspace", str(EXAMPLE_WORKSPACE)]
    )
    assert result.exit_code == EXIT_FAILED
    assert "META_LEAD_FORMS" in result.stderr


def test_a_bad_date_is_refused() -> None:
    result = runner.invoke(app, ["reconcile", "--since", "8 March"])
    assert result.exit_code == EXIT_FAILED
    assert "YYYY-MM-DD" in result.stderr


def test_counting_and_fixing_on_both_engines(
    polling_any: Runtime, graph: GraphFake, linkedin: LinkedInFake
) -> None:
    runtime = polling_any
    held = [meta_lead(n, at(9, 10 + n)) for n in range(3)]
    for record in held:
        graph.form_lead(FORM, record)
    ingest(runtime, polled_lead_event(held[0], form_id=FORM, page_id=PAGE))
    day = date(2026, 3, 9)

    found = run_reconcile(runtime, day, day, providers=["meta"])
    [row] = found.sources[0].days
    assert (row.provider, row.firsttouch, row.missing) == (3, 1, 2)

    fixed = run_reconcile(runtime, day, day, providers=["meta"], fix=True)
    assert fixed.fixed == 2 and len(inbounds(runtime)) == 3
    [row] = run_reconcile(runtime, day, day, providers=["meta"]).sources[0].days
    assert (row.provider, row.firsttouch, row.missing) == (3, 3, 0)


def test_an_organizations_organic_leads_are_reconciled_and_fixed_on_both_engines(
    any_db: Database,
    settings: Settings,
    workspace: Workspace,
    clock: VirtualClock,
    graph: GraphFake,
    linkedin: LinkedInFake,
) -> None:
    runtime = Runtime(
        settings=lead_ads_env(
            settings.with_overrides(database_url=any_db.url),
            graph,
            linkedin,
            LINKEDIN_AD_ACCOUNTS="",
            LINKEDIN_ORGANIZATIONS="2414183",
        ),
        db=any_db,
        workspace=workspace,
        clock=clock,
    )
    form = fixture_json("linkedin_lead_form.json")
    held = [
        organic_response(n, at(9, 10 + n), lead_type)
        for n, lead_type in enumerate(("EVENT", "COMPANY", "ORGANIZATION_PRODUCT"))
    ]
    for response in held:
        linkedin.response(ORGANIZATION, response)
    ingest(runtime, response_event(held[0], form))
    day = date(2026, 3, 9)

    found = run_reconcile(runtime, day, day, providers=["linkedin"])
    [row] = found.sources[0].days
    assert (row.provider, row.firsttouch, row.missing) == (3, 1, 2)

    fixed = run_reconcile(runtime, day, day, providers=["linkedin"], fix=True)
    assert fixed.fixed == 2
    assert sorted(i.fields["lead_type"] for i in inbounds(runtime)) == [
        "COMPANY",
        "EVENT",
        "ORGANIZATION_PRODUCT",
    ]
