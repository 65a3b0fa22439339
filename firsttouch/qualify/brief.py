"""The one-paragraph brief a rep reads before the first call.

Written by code from the facts and the score, so the same lead always reads
the same way: who this is, what they likely need, and why the score is what
it is, each fact followed by the source that stated it.
"""

from __future__ import annotations

from firsttouch.qualify.facts import FactSheet
from firsttouch.qualify.scoring import Score

ROUTE_WORDS = {
    "rep_now": "rep now",
    "fast_track": "fast track",
    "nurture": "nurture",
    "disqualified": "disqualified",
}

SOURCE_WORDS = {
    "form": "form",
    "contact": "CRM record",
    "email": "address",
    "title": "title",
    "dns": "DNS",
    "website": "website",
    "directory": "directory",
    "people_data_labs": "People Data Labs",
    "message": "message",
}


def _cite(facts: FactSheet, name: str, shown: str | None = None) -> str | None:
    value = facts.get(name)
    if value is None:
        return None
    source = SOURCE_WORDS.get(facts.source(name) or "", facts.source(name) or "")
    return f"{shown or value} ({source})"


def _who(facts: FactSheet) -> str:
    name = " ".join(
        str(p) for p in (facts.get("first_name"), facts.get("last_name")) if p
    )
    title = _cite(facts, "title")
    person = name or "An unnamed contact"
    if title:
        person += f", {title}"
    company = _cite(facts, "company")
    where = [
        x
        for x in (
            _cite(facts, "employees", f"{facts.get('employees')} employees"),
            _cite(facts, "industry"),
            _cite(facts, "country"),
        )
        if x
    ]
    if company:
        person += f" at {company}"
        if where:
            person += " [" + "; ".join(where) + "]"
    elif where:
        person += ", company facts: " + "; ".join(where)
    email_type = facts.get("email_type")
    if email_type and email_type != "unknown":
        person += f", writing from a {email_type} address"
    channel = facts.get("channel")
    if channel:
        person += f" via {str(channel).replace('_', ' ')}"
    return person + "."


def _need(facts: FactSheet, score: Score, product: str | None) -> str:
    function = facts.get("function")
    words = ", ".join(repr(w) for w in score.intent_words)
    need = f"Likely needs {product}" if product else "Need not stated"
    if function:
        need += f" for a {str(function).replace('_', ' ')} team"
    if words:
        need += f"; the message mentions {words} (intent {score.intent}/100)"
    elif facts.get("message"):
        need += "; the message names no urgency"
    else:
        need += "; no message"
    return need + "."


def _why(score: Score) -> str:
    route = ROUTE_WORDS.get(score.route, score.route)
    added = [c for c in score.criteria if c.points > 0]
    missing = [c for c in score.criteria if c.points == 0 and c.weight > 0]
    text = f"Fit {score.total}/100, {route}"
    if added:
        parts = sorted(added, key=lambda c: -c.points)
        text += ": " + ", ".join(f"{c.name} +{c.points} ({c.reason})" for c in parts)
    if missing:
        text += "; nothing for " + ", ".join(f"{c.name} ({c.reason})" for c in missing)
    text += "."
    if score.disqualified_reason:
        text += f" Disqualified: {score.disqualified_reason}."
    return text


def write_brief(facts: FactSheet, score: Score, product: str | None = None) -> str:
    """Return the default brief: one paragraph, every fact with its source."""
    return " ".join((_who(facts), _need(facts, score, product), _why(score)))
