"""Who answered: person facts out of a form builder's named answers.

Typeform, Formsort and the generic lead webhook all deliver answers keyed by
a name the form's author chose (``email``, ``work_email``, ``First Name``).
They are mapped with the same rules as firsttouch's own web forms
(``capture.forms``: canonical names and the usual spellings), so a field
that works on a web form works here too. An address that is not an email is
kept with the answers, never used to reach anyone.
"""

from __future__ import annotations

import re
from typing import Any

from firsttouch.capture.events import PersonFacts
from firsttouch.capture.forms import PERSON_FIELDS, map_fields
from firsttouch.capture.identity import normalise_email
from firsttouch.workspace.routing import Form

# No workspace mapping applies to a provider's answers, only the built-in one.
_BUILT_IN_ONLY = Form(name="provider answers", honeypot=None)
# Flow builders name variables freely ("enter_email", "your_mobile"); a name
# that contains one of these, with a value of the right shape, is used.
_NAMED_LIKE = {"email": ("email", "e_mail"), "phone": ("phone", "mobile")}


def facts_from_answers(
    answers: dict[str, Any],
) -> tuple[PersonFacts, dict[str, str]]:
    """Return the person the answers describe and the message fields they hold.

    The second value holds ``message`` and ``subject`` when an answer maps to
    them.
    """
    mapped, _ = map_fields(_BUILT_IN_ONLY, answers)
    if mapped.get("email") and normalise_email(mapped["email"]) is None:
        mapped.pop("email")
    for target, hints in _NAMED_LIKE.items():
        if not mapped.get(target):
            found = _named_like(answers, hints, target)
            if found:
                mapped[target] = found
    values: dict[str, Any] = {k: v for k, v in mapped.items() if k in PERSON_FIELDS}
    if "employees" in values:
        digits = re.findall(r"\d[\d,]*", str(values["employees"]))
        values["employees"] = int(digits[-1].replace(",", "")) if digits else None
    text = {k: str(v) for k, v in mapped.items() if k in ("message", "subject")}
    return PersonFacts(**values), text


def _named_like(
    answers: dict[str, Any], hints: tuple[str, ...], target: str
) -> str | None:
    """The first answer whose name contains a hint and whose value fits."""
    for name, value in answers.items():
        lowered = name.lower()
        if not isinstance(value, str) or not any(h in lowered for h in hints):
            continue
        if target == "email" and normalise_email(value) is None:
            continue
        if target == "phone" and sum(ch.isdigit() for ch in value) < 6:
            continue
        return value.strip()
    return None


def merge_facts(first: PersonFacts, second: PersonFacts) -> PersonFacts:
    """``first`` with the gaps filled from ``second``."""
    return first.filled_from(second)


def reachable(person: PersonFacts) -> bool:
    """True when the answers give a way to reach the person back."""
    return bool(person.email or person.phone)
