"""The written ICP for the online-education lead set loads, reads only
pre-contact columns, and ranks an obvious buyer above an obvious browser."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from firsttouch.qualify.learning import read_history
from firsttouch.qualify.scoring import Scorer

ROOT = Path(__file__).resolve().parents[2]
HEADER = (
    "Prospect ID,Lead Number,Lead Origin,Lead Source,Do Not Email,Converted,"
    "Total Time Spent on Website,Country,Specialization,"
    "What is your current occupation,Tags,Lead Quality\n"
)


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


def _leads(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "datasets" / "leads" / "x_education" / "Leads.csv"
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return tmp_path


def test_unanswered_fields_and_after_contact_columns_are_not_facts(
    tmp_path: Path,
) -> None:
    corpus = _leads(
        tmp_path,
        "a1,1,API,Google,No,1,42,India,Select,,Closed by Horizzon,High in Relevance",
        "a2,2,API,Google,No,0,10,India,Select,Unemployed,Ringing,",
    )
    history = _script().read_leads(corpus)
    first = history.facts[0]
    assert first.get("lead_origin") == "API"
    assert first.get("country") == "IN"
    assert "specialization" not in first
    assert "what_is_your_current_occupation" not in first
    assert not {"tags", "lead_quality", "lead_number", "prospect_id"} & set(first)
    assert history.labels.tolist() == [1, 0]


def test_a_referred_working_professional_outranks_a_quick_browser(
    tmp_path: Path,
) -> None:
    path = (
        _leads(
            tmp_path,
            "b1,1,Lead Add Form,Reference,No,1,0,India,Select,Working Professional,,",
            "b2,2,API,Olark Chat,Yes,0,40,India,Select,Unemployed,,",
        )
        / "datasets/leads/x_education/Leads.csv"
    )
    history = read_history(path, outcome="Converted")
    scorer = Scorer(_script().load_icp())
    buyer, browser = (scorer.score(f) for f in history.facts)
    assert buyer.route == "rep_now"
    assert browser.route == "nurture"
    assert buyer.total - browser.total >= 40
