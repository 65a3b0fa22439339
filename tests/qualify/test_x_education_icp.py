"""The written ICP for the online-education lead set loads, reads only
pre-contact columns, and ranks an obvious buyer above an obvious browser."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from firsttouch.qualify.scoring import Scorer

ROOT = Path(__file__).resolve().parents[2]


@cache
def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "qualify_leads", ROOT / "acceptance" / "qualify_leads.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["qualify_leads"] = module
    spec.loader.exec_module(module)
    return module


def test_unanswered_select_fields_and_after_contact_columns_are_not_facts() -> None:
    script = _script()
    facts = script.row_facts(
        {
            "Lead Origin": "API",
            "Specialization": "Select",
            "What is your current occupation": None,
            "Tags": "Closed by Horizzon",
            "Lead Quality": "High in Relevance",
            "Country": "India",
            "Total Time Spent on Website": 42,
        }
    )
    assert facts.get("lead_origin") == "API"
    assert "specialization" not in facts and "occupation" not in facts
    assert facts.get("country") == "IN"
    assert not {"tags", "lead_quality"} & set(facts)


def test_a_referred_working_professional_outranks_a_quick_browser() -> None:
    script = _script()
    scorer = Scorer(script.load_icp())
    buyer = scorer.score(
        script.row_facts(
            {
                "Lead Origin": "Lead Add Form",
                "Lead Source": "Reference",
                "What is your current occupation": "Working Professional",
                "Do Not Email": "No",
                "Total Time Spent on Website": 0,
            }
        )
    )
    browser = scorer.score(
        script.row_facts(
            {
                "Lead Origin": "API",
                "Lead Source": "Olark Chat",
                "What is your current occupation": "Unemployed",
                "Do Not Email": "Yes",
                "Total Time Spent on Website": 40,
            }
        )
    )
    assert buyer.route == "rep_now"
    assert browser.route == "nurture"
    assert buyer.total - browser.total >= 40


def test_the_top_decile_is_taken_by_score_with_ties_in_file_order() -> None:
    script = _script()
    scores, labels = [90, 10, 90] + [5] * 17, [1, 1, 0] + [0] * 17
    assert script.top_decile_rate(scores, labels) == 0.5
