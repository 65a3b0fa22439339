"""The interface every fact source implements."""

from __future__ import annotations

from typing import Any, Protocol

from firsttouch.qualify.facts import FactSheet


class Provider(Protocol):
    """A source of facts about a lead.

    ``key`` names what to look up (usually the company domain) or None when
    the lead gives nothing to look up. ``lookup`` returns facts by name (an
    empty dict means "nothing found") and raises ``EnrichmentError`` when
    the source failed; it never raises anything else on purpose. Results of
    a ``cacheable`` source are kept per key for the workspace's TTL.
    """

    name: str
    cacheable: bool

    def key(self, facts: FactSheet) -> str | None: ...

    def lookup(self, key: str, facts: FactSheet) -> dict[str, Any]: ...
