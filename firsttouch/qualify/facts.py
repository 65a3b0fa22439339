"""What is known about a lead, each fact with the source that said it.

Sources are named plainly (``form``, ``email``, ``title``, ``dns``,
``website``, ``directory``, ``people_data_labs``) so the brief and the score
can say where a fact came from. The first source to state a fact keeps it:
providers run in order of trust, the buyer's own words first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Fact:
    value: Any
    source: str


@dataclass
class FactSheet:
    """A name -> Fact map that keeps the first value stated for each name."""

    facts: dict[str, Fact] = field(default_factory=dict)
    # Values derived from the facts (the lower-cased message), dropped on change.
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def add(self, name: str, value: Any, source: str) -> bool:
        """Record ``value`` unless it is empty or the fact is already known."""
        if value is None or value == "" or value == [] or name in self.facts:
            return False
        self.facts[name] = Fact(value, source)
        self.memo.clear()
        return True

    def merge(self, values: Mapping[str, Any], source: str) -> None:
        for name, value in values.items():
            self.add(name, value, source)

    def get(self, name: str, default: Any = None) -> Any:
        fact = self.facts.get(name)
        return default if fact is None else fact.value

    def source(self, name: str) -> str | None:
        fact = self.facts.get(name)
        return None if fact is None else fact.source

    def __contains__(self, name: object) -> bool:
        return name in self.facts

    def __iter__(self) -> Iterator[str]:
        return iter(self.facts)

    def as_json(self) -> dict[str, dict[str, Any]]:
        """Return ``{name: {value, source}}`` for storage."""
        return {
            n: {"value": f.value, "source": f.source} for n, f in self.facts.items()
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Mapping[str, Any]]) -> FactSheet:
        sheet = cls()
        for name, item in data.items():
            sheet.add(name, item.get("value"), str(item.get("source", "stored")))
        return sheet


def email_domain(address: str | None) -> str | None:
    """Return the lower-cased domain of an address, or None if there is none."""
    if not address or "@" not in address:
        return None
    domain = address.rsplit("@", 1)[1].strip().strip(".").lower()
    return domain or None


def website_domain(url: str | None) -> str | None:
    """Return the host of a website field (``https://www.acme.com/x`` -> acme.com)."""
    if not url:
        return None
    text = url.strip().lower()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    host = text.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].strip(".")
    host = host.removeprefix("www.")
    return host or None


def fact_name(label: str) -> str:
    """A field or column label as a fact name: ``Lead Origin`` -> ``lead_origin``."""
    return "_".join(re.findall(r"[a-z0-9]+", label.lower()))
