"""Matching a buyer's words: whole-word phrases, found in one pass."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from firsttouch.qualify.facts import FactSheet


def norm(text: Any) -> str:
    """Lower-case, underscores as spaces, runs of space as one."""
    return " ".join(str(text).lower().replace("_", " ").split())


def has_phrase(text: str, phrase: str) -> bool:
    """True when ``phrase`` stands in ``text`` as whole words."""
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


class PhraseSet:
    """Whole-word phrases found in one pass over a text, in the order listed.

    The text must be lower-case. Each match is one listed phrase exactly; a
    shorter phrase inside a longer match ("demo" in "demo request") counts
    too, through ``inside``.
    """

    def __init__(self, phrases: Sequence[str]):
        self.phrases = list(dict.fromkeys(p.lower() for p in phrases if p))
        longest_first = sorted(self.phrases, key=len, reverse=True)
        alternatives = "|".join(re.escape(p) for p in longest_first)
        self.pattern = (
            re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if self.phrases else None
        )
        self.inside = {
            long: [p for p in self.phrases if p != long and has_phrase(long, p)]
            for long in self.phrases
        }

    def found(self, text: str) -> list[str]:
        if not text or self.pattern is None:
            return []
        seen = set(self.pattern.findall(text))
        for match in list(seen):
            seen.update(self.inside.get(match, ()))
        return [p for p in self.phrases if p in seen]

    def first(self, text: str) -> str | None:
        found = self.found(text)
        return found[0] if found else None


@lru_cache(maxsize=256)
def phrase_set(phrases: tuple[str, ...]) -> PhraseSet:
    """A compiled phrase set, shared by every rule that lists the same phrases."""
    return PhraseSet(phrases)


def message_text(facts: FactSheet) -> str:
    """The buyer's own words (subject and message), lower-cased."""
    memo = facts.memo.get("message_text")
    if memo is None:
        parts = [facts.get("subject"), facts.get("message")]
        memo = facts.memo["message_text"] = " ".join(str(p) for p in parts if p).lower()
    return str(memo)
