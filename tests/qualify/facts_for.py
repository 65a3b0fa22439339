"""Build a lead's facts the way qualification does, without a database."""

from __future__ import annotations

from typing import Any

from firsttouch.qualify.facts import FactSheet
from firsttouch.qualify.providers.offline import EmailProvider, TitleProvider


def facts_for(**values: Any) -> FactSheet:
    """The lead's own details plus what its address and title say."""
    facts = FactSheet()
    facts.merge(values, "lead")
    for provider in (EmailProvider(), TitleProvider()):
        key = provider.key(facts)
        if key:
            facts.merge(provider.lookup(key, facts), provider.name)
    return facts


def vp_sales_at_saas(**overrides: Any) -> FactSheet:
    values: dict[str, Any] = {
        "email": "dana.ruiz@acme-analytics.com",
        "first_name": "Dana",
        "last_name": "Ruiz",
        "title": "VP Sales",
        "company": "Acme Analytics",
        "employees": 200,
        "industry": "SaaS",
        "country": "US",
        "channel": "web_form",
        "message": "Could we see a demo next week?",
    }
    values.update(overrides)
    return facts_for(**values)
