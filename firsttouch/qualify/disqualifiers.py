"""Hard disqualifiers: what closes a lead whatever its score, and why.

Each check returns the signal that fired (``domain rival.example``,
``title 'MBA Student'``) or None; the ICP's reason is put in front of it.
"""

from __future__ import annotations

import re

from firsttouch.qualify.facts import FactSheet
from firsttouch.qualify.phrases import message_text, norm, phrase_set
from firsttouch.workspace.icp import Disqualifier

# Phrases a student or job seeker writes and a buyer does not.
STUDENT_PHRASES = (
    "i am a student",
    "i'm a student",
    "im a student",
    "my thesis",
    "my dissertation",
    "school project",
    "class project",
    "university project",
    "homework",
    "internship",
    "looking for a job",
    "looking for work",
    "job opportunity",
    "job opening",
    "my resume",
    "my cv",
    "hiring?",
    "are you hiring",
    "career opportunities",
)

SPAM_PHRASES = (
    "seo services",
    "guest post",
    "backlinks",
    "rank your website",
    "first page of google",
    "web design services",
    "casino",
    "viagra",
    "crypto investment",
    "loan offer",
    "bitcoin opportunity",
    "increase your traffic",
)

_URL = re.compile(r"https?://|www\.", re.IGNORECASE)


def _domains(facts: FactSheet) -> list[str]:
    return [d for d in (facts.get("domain"), facts.get("website_domain")) if d]


def _matches_domain(domain: str, blocked: str) -> bool:
    blocked = blocked.lower().strip(".")
    return domain == blocked or domain.endswith("." + blocked)


def disqualified_by(rule: Disqualifier, facts: FactSheet) -> str | None:
    """Return what made this disqualifier fire, or None when it does not."""
    kind = rule.kind
    if kind == "competitor_domain":
        for domain in _domains(facts):
            if any(_matches_domain(domain, v) for v in rule.values):
                return f"domain {domain}"
    elif kind == "country_not_served":
        country = str(facts.get("country") or "").upper()
        if country and country in {v.upper() for v in rule.values}:
            return f"country {country}"
    elif kind == "disposable_email":
        if facts.get("email_type") == "disposable":
            return f"disposable address at {facts.get('domain')}"
    elif kind == "free_email":
        if facts.get("email_type") == "free":
            return f"free-mail address at {facts.get('domain')}"
    elif kind == "student_or_job_seeker":
        return _student_signal(rule, facts)
    elif kind == "spam":
        return _spam_signal(rule, facts)
    elif kind == "field_value":
        value = facts.get(rule.field or "")
        if value is not None and norm(value) in {norm(v) for v in rule.values}:
            return f"{rule.field} {value}"
    return None


def _student_signal(rule: Disqualifier, facts: FactSheet) -> str | None:
    title = facts.get("title")
    if facts.get("seniority") == "student":
        return f"title {title!r}"
    if facts.get("job_seeker"):
        return f"title {title!r}" if title else "says they are looking for work"
    if facts.get("student_email"):
        return f"student address at {facts.get('domain')}"
    phrase = phrase_set((*STUDENT_PHRASES, *rule.values)).first(message_text(facts))
    return f"message says {phrase!r}" if phrase else None


def _spam_signal(rule: Disqualifier, facts: FactSheet) -> str | None:
    text = message_text(facts)
    links = len(_URL.findall(text))
    if links >= 3:
        return f"message carries {links} links"
    phrase = phrase_set((*SPAM_PHRASES, *rule.values)).first(text)
    if phrase:
        return f"message says {phrase!r}"
    for name in ("first_name", "last_name", "company"):
        if _URL.search(str(facts.get(name) or "")):
            return f"a link in the {name.replace('_', ' ')} field"
    return None
