"""Scoring against the written ICP: points add up, each disqualifier fires
with its reason, and the example workspace routes obvious leads sensibly."""

from __future__ import annotations

import pytest

from firsttouch.qualify.scoring import Scorer, score_lead
from firsttouch.workspace import Workspace
from firsttouch.workspace.icp import Icp

from .facts_for import facts_for, vp_sales_at_saas


def _icp(**changes: object) -> Icp:
    data: dict[str, object] = {
        "version": "t1",
        "criteria": [
            {
                "name": "size",
                "kind": "employees",
                "weight": 3,
                "rules": {
                    "bands": [
                        {"min": 50, "max": 500, "points": 1.0},
                        {"min": 1, "max": 49, "points": 0.3},
                    ]
                },
            },
            {
                "name": "region",
                "kind": "country",
                "weight": 3,
                "rules": {"values": {"US": 1.0, "DE": 0.5}},
            },
            {
                "name": "who",
                "kind": "title",
                "weight": 3,
                "rules": {
                    "seniority": {"vp": 1.0, "manager": 0.5},
                    "functions": {"sales": 1.0},
                },
            },
        ],
    }
    data.update(changes)
    return Icp.model_validate(data)


def test_a_vp_of_sales_at_a_200_person_us_saas_company_goes_to_a_rep_now(
    workspace: Workspace,
) -> None:
    score = score_lead(workspace.icp, vp_sales_at_saas())
    assert score.route == "rep_now"
    assert score.total >= workspace.icp.routes.rep_now
    assert score.disqualified_reason is None


def test_a_student_with_gmail_is_disqualified_with_the_reason(
    workspace: Workspace,
) -> None:
    facts = facts_for(
        email="sam.lee1999@gmail.com",
        title="Student",
        message="I need data for my thesis",
    )
    score = score_lead(workspace.icp, facts)
    assert score.route == "disqualified"
    assert "student or job seeker" in (score.disqualified_reason or "")
    assert "Student" in (score.disqualified_reason or "")


def test_a_competitor_domain_is_disqualified_however_well_it_fits(
    workspace: Workspace,
) -> None:
    score = score_lead(workspace.icp, vp_sales_at_saas(email="spy@tipalti.example"))
    assert score.route == "disqualified"
    assert score.total >= workspace.icp.routes.rep_now  # the score is still kept
    assert "competitor" in (score.disqualified_reason or "")


def test_a_small_company_from_a_free_address_is_nurtured_not_dropped(
    workspace: Workspace,
) -> None:
    facts = facts_for(
        email="owner.bakery@yahoo.com",
        title="Owner",
        employees=4,
        industry="Bakery",
        country="US",
    )
    score = score_lead(workspace.icp, facts)
    assert score.route == "nurture"
    assert score.total < workspace.icp.routes.fast_track


def test_a_finance_manager_at_a_midsize_german_firm_is_fast_tracked(
    workspace: Workspace,
) -> None:
    facts = facts_for(
        email="k.weber@maschinen-gmbh.de",
        title="Leiter Buchhaltung",
        employees=3000,
        industry="Manufacturing",
        country="DE",
    )
    score = score_lead(workspace.icp, facts)
    assert score.route == "fast_track"


@pytest.mark.parametrize(
    "facts",
    [
        vp_sales_at_saas(),
        facts_for(email="a@b.io", employees=12, country="DE", title="Sales Manager"),
        facts_for(email="x@gmail.com"),
        facts_for(),
    ],
)
def test_criterion_points_add_up_to_the_total(
    facts: object, workspace: Workspace
) -> None:
    for icp in (workspace.icp, _icp()):
        score = score_lead(icp, facts)  # type: ignore[arg-type]
        assert sum(c.points for c in score.criteria) == score.total
        assert 0 <= score.total <= 100


def test_odd_weights_still_round_to_an_exact_sum() -> None:
    # Three equal weights of 33.33 points each: naive rounding gives 99.
    score = Scorer(_icp()).score(
        facts_for(email="a@b.io", employees=100, country="US", title="VP Sales")
    )
    assert score.total == 100
    assert sorted(c.points for c in score.criteria) == [33, 33, 34]


def test_each_criterion_says_why_it_scored_and_where_the_fact_came_from() -> None:
    score = Scorer(_icp()).score(facts_for(email="a@b.io", employees=20, country="FR"))
    by_name = {c.name: c for c in score.criteria}
    assert by_name["size"].reason == "employees 20"
    assert by_name["size"].sources == ("lead",)
    assert "not a target market" in by_name["region"].reason
    assert by_name["who"].reason == "no job title known"


def test_an_unknown_fact_earns_the_unknown_share() -> None:
    icp = _icp(
        criteria=[
            {
                "name": "size",
                "kind": "employees",
                "weight": 1,
                "rules": {"bands": [{"min": 1, "points": 1.0}], "unknown": 0.25},
            }
        ]
    )
    assert score_lead(icp, facts_for()).total == 25


@pytest.mark.parametrize(
    ("kind", "values", "facts", "needle"),
    [
        (
            "competitor_domain",
            ["rival.example"],
            {"email": "a@eu.rival.example"},
            "domain eu.rival.example",
        ),
        (
            "competitor_domain",
            ["rival.example"],
            {"email": "a@gmail.com", "website_domain": "rival.example"},
            "rival.example",
        ),
        ("country_not_served", ["KP"], {"country": "kp"}, "country KP"),
        ("disposable_email", [], {"email": "temp@mailinator.com"}, "disposable"),
        ("free_email", [], {"email": "j@hotmail.com"}, "free-mail"),
        ("student_or_job_seeker", [], {"title": "MBA Student"}, "MBA Student"),
        ("student_or_job_seeker", [], {"title": "Open to work"}, "Open to work"),
        ("student_or_job_seeker", [], {"message": "Are you hiring?"}, "hiring"),
        (
            "student_or_job_seeker",
            [],
            {"email": "j@student.uni-example.ac.uk"},
            "student address",
        ),
        (
            "spam",
            [],
            {"message": "We offer SEO services for your site"},
            "seo services",
        ),
        (
            "spam",
            [],
            {"message": "see http://a.example http://b.example www.c.example"},
            "3 links",
        ),
        ("spam", ["win a prize"], {"message": "You win a prize!"}, "win a prize"),
        ("spam", [], {"first_name": "http://spam.example"}, "first name"),
    ],
)
def test_each_disqualifier_fires_with_its_reason(
    kind: str, values: list[str], facts: dict[str, str], needle: str
) -> None:
    icp = _icp(
        disqualifiers=[{"kind": kind, "values": values, "reason": f"because {kind}"}]
    )
    score = score_lead(icp, facts_for(**facts))
    assert score.route == "disqualified"
    assert score.disqualified_reason is not None
    assert score.disqualified_reason.startswith(f"because {kind}")
    assert needle in score.disqualified_reason


def test_field_value_disqualifier_reads_any_form_field() -> None:
    icp = _icp(
        disqualifiers=[
            {"kind": "field_value", "field": "occupation", "values": ["Student"]}
        ]
    )
    score = score_lead(icp, facts_for(occupation="student"))
    assert score.route == "disqualified"
    assert "occupation student" in (score.disqualified_reason or "")


def test_a_buyer_trips_no_disqualifier(workspace: Workspace) -> None:
    assert score_lead(workspace.icp, vp_sales_at_saas()).disqualifiers == ()


def test_routes_follow_the_thresholds() -> None:
    icp = _icp(routes={"rep_now": 80, "fast_track": 50})
    scorer = Scorer(icp)
    best = scorer.score(facts_for(employees=100, country="US", title="VP Sales"))
    middle = scorer.score(facts_for(employees=100, country="DE", title="Sales Manager"))
    low = scorer.score(facts_for(employees=10))
    assert (best.route, middle.route, low.route) == ("rep_now", "fast_track", "nurture")


def test_intent_is_kept_apart_from_fit() -> None:
    icp = _icp()
    calm = score_lead(icp, facts_for(employees=100, message="Just browsing"))
    urgent = score_lead(
        icp, facts_for(employees=100, message="Need pricing ASAP, budget approved")
    )
    assert calm.total == urgent.total
    assert urgent.intent > calm.intent == 0
    assert "asap" in urgent.intent_words


def test_generic_field_number_source_and_technology_criteria() -> None:
    icp = _icp(
        criteria=[
            {
                "name": "occupation",
                "kind": "field",
                "weight": 1,
                "rules": {
                    "field": "occupation",
                    "values": {"Working Professional": 1.0},
                },
            },
            {
                "name": "time on site",
                "kind": "number",
                "weight": 1,
                "rules": {
                    "field": "time_on_site",
                    "bands": [{"min": 600, "points": 1.0}],
                },
            },
            {
                "name": "source",
                "kind": "source",
                "weight": 1,
                "rules": {"values": {"referral": 1.0, "web_form": 0.5}},
            },
            {
                "name": "stack",
                "kind": "technology",
                "weight": 1,
                "rules": {"values": {"NetSuite": 1.0}},
            },
        ]
    )
    facts = facts_for(
        occupation="working professional",
        time_on_site="900",
        source="newsletter",
        channel="web_form",
        technologies=["WordPress", "NetSuite"],
    )
    score = score_lead(icp, facts)
    # 25 + 25 + 12.5 (channel web_form at half) + 25 = 87.5, shown as 88.
    assert [c.points for c in score.criteria] == [25, 25, 13, 25]
    assert score.total == 88
    assert score.criteria[2].reason == "channel web_form"
