"""Sources that need no network: the email address and the job title."""

from __future__ import annotations

from typing import Any

from firsttouch.qualify.email_type import classify_email
from firsttouch.qualify.facts import FactSheet
from firsttouch.qualify.titles import parse_title


class EmailProvider:
    """Free-mail, disposable and role detection from maintained domain lists."""

    name = "email"
    cacheable = False

    def key(self, facts: FactSheet) -> str | None:
        email = facts.get("email")
        return str(email) if email else None

    def lookup(self, key: str, facts: FactSheet) -> dict[str, Any]:
        kind = classify_email(key)
        found: dict[str, Any] = {"email_type": kind.kind, "domain": kind.domain}
        if kind.student_domain:
            found["student_email"] = True
        return found


class TitleProvider:
    """Seniority and function read from the job title."""

    name = "title"
    cacheable = False

    def key(self, facts: FactSheet) -> str | None:
        title = facts.get("title")
        return str(title) if title else None

    def lookup(self, key: str, facts: FactSheet) -> dict[str, Any]:
        parsed = parse_title(key)
        found: dict[str, Any] = {
            "seniority": parsed.seniority,
            "function": parsed.function,
        }
        if parsed.job_seeker:
            found["job_seeker"] = True
        return found
