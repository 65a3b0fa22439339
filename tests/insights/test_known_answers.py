"""Each CRM's export layout, scored against answers worked out by hand.

The three files in ``exports/`` were written for these tests. The comments
beside each expected figure show the arithmetic, so a reader can check it
without running anything. All are judged at Tuesday 2026-03-10 14:00 UTC
with business hours 09:00-17:00 UTC, Monday to Friday.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from firsttouch.insights.reading import read_export
from firsttouch.insights.report import report_from_records
from firsttouch.insights.results import LeakReport
from firsttouch.insights.settings import LeakSettings

EXPORTS = Path(__file__).parent / "exports"
AS_OF = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def score(path: str, settings: LeakSettings | None = None) -> LeakReport:
    read = read_export(EXPORTS / path)
    return report_from_records(
        read.records,
        as_of=AS_OF,
        settings=settings,
        summary=read.summary,
        date_only=read.date_only,
    )


def metrics(report: LeakReport, layer: str) -> dict[str, float | None]:
    return {part.key: part.metric for part in report.layer(layer).parts}  # type: ignore[arg-type]


def figures(report: LeakReport, layer: str) -> dict[str, object]:
    return {fig.key: fig.value for fig in report.layer(layer).figures}  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def hubspot() -> LeakReport:
    return score("hubspot_contacts.csv", LeakSettings(quiet_after_days=3))


def test_hubspot_capture_counts_missing_source_and_owner(hubspot: LeakReport) -> None:
    # Contact 104 has neither: 1 of 6 = 16.7%. Source: 0 at 50%, so 66.7;
    # owner: 0 at 30%, so 44.4; weights 1 and 2 give (66.7 + 88.8) / 3 = 52.
    assert metrics(hubspot, "capture") == {"no_source": 16.7, "no_owner": 16.7}
    assert hubspot.layer("capture").score == 52
    # 103 arrived at 20:00 and 104 on a Saturday: 2 of 6 outside hours.
    assert figures(hubspot, "capture")["after_hours_share"] == 33.3
    assert figures(hubspot, "capture")["weekend_share"] == 16.7


def test_hubspot_respond_measures_minutes_and_leaves_waiting_leads_out(
    hubspot: LeakReport,
) -> None:
    # 106 arrived 2 h ago untouched: still waiting. The other five took
    # 3, 30, 780 and 4 minutes, and 104 was never touched.
    found = figures(hubspot, "respond")
    assert found["judged"] == 5
    assert found["waiting"] == 1
    assert found["median_minutes"] == 17.0  # median of 3, 4, 30, 780
    assert found["p90_minutes"] == 555.0  # 30 + 0.7 x (780 - 30)
    assert found["within_5_share"] == 40.0
    assert found["within_60_share"] == 60.0
    assert found["never_share"] == 20.0
    assert found["median_business_hours"] == 4.0  # 101, 102, 105
    assert found["median_after_hours"] == 780.0  # 103 (104 never answered)
    # Median 17 min on the log line: 1 - ln(3.4)/ln(288) = 78.4; 40% within
    # 5 min: 50.0; 20% never: 33.3. (78.4x2 + 50 + 33.3x2) / 5 = 54.7.
    assert hubspot.layer("respond").score == 55
    bins = {b.label: b.count for b in hubspot.charts.response_minutes}
    assert bins == {
        "under 5 min": 2,
        "5-15 min": 0,
        "15-60 min": 1,
        "1-4 h": 0,
        "4-24 h": 1,
        "1-3 days": 0,
        "over 3 days": 0,
        "never": 1,
    }
    assert hubspot.charts.heatmap is not None
    assert hubspot.charts.heatmap.counts[1][10] == 1  # Tuesday 10:00


def test_hubspot_qualify_and_nurture(hubspot: LeakReport) -> None:
    # Owner and score: 101, 102, 105, 106 = 4 of 6. "Unqualified" (102)
    # took 2 of 16 touches = 12.5%.
    assert metrics(hubspot, "qualify") == {
        "owned_and_scored": 66.7,
        "time_on_disqualified": 12.5,
    }
    assert hubspot.layer("qualify").score == 65  # (56.4x2 + 83.3) / 3
    # Unanswered and touched: 101 (6) and 102 (2); 103 replied, 105 bought.
    # Open leads 101, 103, 104, 106; 103 and 104 are quiet 3+ days, unbooked.
    assert metrics(hubspot, "nurture") == {
        "touches_median": 4.0,
        "worked_5_plus": 50.0,
        "gone_quiet": 50.0,
    }
    assert hubspot.layer("nurture").score == 40  # (75 + 83.3 + 0x2) / 4


def test_hubspot_biggest_leak_and_missing_crm_layer(hubspot: LeakReport) -> None:
    crm = hubspot.layer("crm")
    assert crm.score is None
    assert "nothing recorded for stage" in crm.no_data_reason
    assert hubspot.layers_scored == 4
    assert hubspot.biggest_leak is not None
    assert hubspot.biggest_leak.layer == "nurture"
    assert "50.0% of open leads have gone quiet" in hubspot.biggest_leak.headline


def test_hubspot_estimate_uses_team_figures_and_stated_lift() -> None:
    report = score("hubspot_contacts.csv", LeakSettings(average_deal_value=1000))
    estimate = report.estimate
    # Slow: 103 (13 h) and 104 (never) = 2. Won 1 (105) of closed 2 (102
    # ruled out, 105 won): 0.5. Extra = 2 x 0.5 x (7 - 1) x 0.1 = 0.6 deals.
    assert estimate.available
    assert estimate.slow_leads == 2
    assert estimate.extra_won_deals == 0.6
    assert estimate.value == 600.0
    assert {c.key for c in estimate.citations} == {"hbr_2011", "lrm_2007"}


def test_hubspot_estimate_says_what_is_missing(hubspot: LeakReport) -> None:
    assert not hubspot.estimate.available
    assert "average_deal_value" in hubspot.estimate.reason


def test_salesforce_opportunities_stage_aging_and_activity() -> None:
    report = score("salesforce_opportunities.csv")
    assert report.input.columns is not None
    assert report.input.columns.detected_source == "salesforce"
    # Open: A (18.6 d in stage), B (68.6), C (99.6), F (1.6); no won deals
    # to learn from, so the limit is the 30-day fallback: B and C are past.
    assert metrics(report, "crm") == {
        "stuck_deals": 50.0,
        "recent_activity": 50.0,
        "log_lag": None,
    }
    # Stuck: 0; recent (A and F of 4): (0.5 - 0.2) / 0.7 = 42.9; 42.9 / 3.
    assert report.layer("crm").score == 14
    aging = {s.stage: (s.open_deals, s.past_limit) for s in report.charts.stage_aging}
    assert aging == {
        "Negotiation/Review": (1, 1),
        "Prospecting": (2, 1),
        "Qualification": (1, 0),
    }
    # Lead source blank on B and E: 2 of 6; every deal has an owner.
    assert metrics(report, "capture") == {"no_source": 33.3, "no_owner": 0.0}
    assert report.layer("capture").score == 78
    assert report.layer("respond").score is None
    assert report.biggest_leak is not None
    assert report.biggest_leak.layer == "crm"


def test_pipedrive_semicolons_bom_duplicates_and_european_amounts() -> None:
    report = score("pipedrive_deals.csv")
    summary = report.input
    assert summary.columns is not None
    assert summary.columns.detected_source == "pipedrive"
    assert (summary.rows_read, summary.blank_rows, summary.duplicate_rows) == (7, 1, 1)
    assert summary.rows_used == 5
    # Won deal 3 is worth 500,00 and is the only win of two closed deals.
    values = {a.key: a.value for a in report.estimate.assumptions}
    assert values["average_deal_value"] == 500.0
    assert values["conversion_rate"] == 0.5

    # Chased (not won, touched): 4, 1, 2 touches -> median 2 (25.0), none 5+.
    # Open 1, 2, 5; deal 2 last active 1 Feb with nothing booked: 1 of 3.
    assert metrics(report, "nurture") == {
        "touches_median": 2.0,
        "worked_5_plus": 0.0,
        "gone_quiet": 33.3,
    }
    assert report.layer("nurture").score == 25  # (25 + 0 + 37.0x2) / 4
    # Open deals 1 (59 d) and 2 (37 d) past 30 days, 5 not: 2 of 3.
    assert metrics(report, "crm")["stuck_deals"] == 66.7
    assert report.layer("crm").score == 6  # (0x2 + 19.0) / 3
    assert report.layer("qualify").score is None
    assert report.biggest_leak is not None
    assert report.biggest_leak.layer == "crm"


def test_labels_from_the_export_never_start_a_formula() -> None:
    report = score("pipedrive_deals.csv")
    stages = [s.stage for s in report.charts.stage_aging]
    assert "'+Lead In" in stages
    text = report.model_dump_json()
    for lead in ('"=', '"+', '"@'):
        assert lead not in text


def test_scores_give_the_headline_as_plain_data(hubspot: LeakReport) -> None:
    assert hubspot.scores() == {
        "overall": 53,  # (52 + 55 + 65 + 40) / 4
        "biggest": "nurture",
        "headline": hubspot.biggest_leak.headline if hubspot.biggest_leak else "",
        "layers": {
            "capture": 52,
            "respond": 55,
            "qualify": 65,
            "nurture": 40,
            "crm": None,
        },
    }
