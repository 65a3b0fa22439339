"""Score a lead's facts against the written ICP: 0-100, every point explained.

Pure: no I/O, no clock. Each criterion earns a share (0.0-1.0) of its weight;
weights are scaled to sum to 100 and the points are rounded so that the
criteria's points add up to the total exactly. Disqualifiers are checked
apart from the score: a disqualified lead keeps its score (so it can be
compared later) and is routed ``disqualified`` with the first reason.
Intent (urgency words in the message) is kept apart from fit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from firsttouch.qualify.facts import FactSheet
from firsttouch.workspace.icp import (
    BandRules,
    Criterion,
    Disqualifier,
    EmailTypeRules,
    FieldRules,
    Icp,
    IndustryRules,
    IntentRules,
    NumberRules,
    TitleRules,
    ValueRules,
)

ROUTES = ("rep_now", "fast_track", "nurture", "disqualified")

DEFAULT_URGENCY_WORDS = (
    "asap",
    "urgent",
    "urgently",
    "today",
    "this week",
    "this month",
    "this quarter",
    "immediately",
    "deadline",
    "right away",
    "budget approved",
    "evaluating",
    "switching",
    "replace",
    "demo",
    "pricing",
    "quote",
    "trial",
)

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


class CriterionResult(NamedTuple):
    """What one criterion added: its share of the weight, its points, and why."""

    name: str
    kind: str
    weight: float
    share: float
    points: int
    reason: str
    sources: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "weight": self.weight,
            "share": round(self.share, 4),
            "points": self.points,
            "reason": self.reason,
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class Score:
    total: int
    route: str
    criteria: tuple[CriterionResult, ...]
    disqualified_reason: str | None = None
    disqualifiers: tuple[str, ...] = ()
    intent: int = 0
    intent_words: tuple[str, ...] = ()
    icp_version: str = ""

    def reasons_json(self) -> dict[str, Any]:
        return {
            "criteria": [c.as_json() for c in self.criteria],
            "disqualifiers": list(self.disqualifiers),
            "intent": self.intent,
            "intent_words": list(self.intent_words),
        }


class _Share(NamedTuple):
    # A tuple, not a dataclass: one is made per criterion per lead.
    share: float
    reason: str
    sources: tuple[str, ...] = ()


Rule = Callable[[FactSheet], _Share]


def _norm(text: Any) -> str:
    return " ".join(str(text).lower().replace("_", " ").split())


def _has_phrase(text: str, phrase: str) -> bool:
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
            long: [p for p in self.phrases if p != long and _has_phrase(long, p)]
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


def _band_share(value: float, rules: BandRules) -> float | None:
    for band in rules.bands:
        low = -math.inf if band.min is None else band.min
        high = math.inf if band.max is None else band.max
        if low <= value <= high:
            return band.points
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).replace(",", "").strip())
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _bands_rule(fact: str, rules: BandRules, label: str) -> Rule:
    def rule(facts: FactSheet) -> _Share:
        value = _number(facts.get(fact))
        if value is None:
            return _Share(rules.unknown, f"no {label} known")
        share = _band_share(value, rules)
        source = (facts.source(fact) or "",)
        shown = f"{value:g}"
        if share is None:
            return _Share(0.0, f"{label} {shown} is outside every band", source)
        return _Share(share, f"{label} {shown}", source)

    return rule


def _lookup_rule(
    fact: str,
    values: dict[str, float],
    unknown: float,
    label: str,
    aliases: dict[str, str] | None = None,
) -> Rule:
    table = {_norm(k): v for k, v in values.items()}
    alias = {_norm(k): _norm(v) for k, v in (aliases or {}).items()}

    def rule(facts: FactSheet) -> _Share:
        raw = facts.get(fact)
        if raw is None:
            return _Share(unknown, f"no {label} known")
        key = _norm(raw)
        key = alias.get(key, key)
        source = (facts.source(fact) or "",)
        if key in table:
            return _Share(table[key], f"{label} {raw}", source)
        return _Share(0.0, f"{label} {raw} is not in the profile", source)

    return rule


def _industry_rule(rules: IndustryRules) -> Rule:
    aliases = {alias: name for name, names in rules.synonyms.items() for alias in names}
    exact = _lookup_rule("industry", rules.values, rules.unknown, "industry", aliases)
    # Longest names first, so "computer software" wins over "software".
    named = {_norm(a): n for a, n in aliases.items()}
    named.update({_norm(n): n for n in rules.values})
    phrases = phrase_set(tuple(sorted(named, key=len, reverse=True)))
    values = {_norm(k): v for k, v in rules.values.items()}

    def rule(facts: FactSheet) -> _Share:
        result = exact(facts)
        raw = facts.get("industry")
        if raw is None or result.share > 0:
            return result
        phrase = phrases.first(_norm(raw))
        if phrase is None:
            return result
        name = named[phrase]
        return _Share(
            values[_norm(name)], f"industry {raw} (reads as {name})", result.sources
        )

    return rule


def _country_rule(rules: ValueRules) -> Rule:
    values = {k.upper(): v for k, v in rules.values.items()}

    def rule(facts: FactSheet) -> _Share:
        raw = facts.get("country")
        if not raw:
            return _Share(rules.unknown, "no country known")
        code = str(raw).upper()
        source = (facts.source("country") or "",)
        if code in values:
            return _Share(values[code], f"country {code}", source)
        return _Share(0.0, f"country {code} is not a target market", source)

    return rule


def _source_rule(rules: ValueRules) -> Rule:
    values = {_norm(k): v for k, v in rules.values.items()}

    def rule(facts: FactSheet) -> _Share:
        # The campaign source is the more specific; the channel is the fallback.
        for name in ("source", "channel"):
            raw = facts.get(name)
            if raw is not None and _norm(raw) in values:
                return _Share(
                    values[_norm(raw)], f"{name} {raw}", (facts.source(name) or "",)
                )
        if facts.get("source") is None and facts.get("channel") is None:
            return _Share(rules.unknown, "no source known")
        shown = facts.get("source") or facts.get("channel")
        return _Share(0.0, f"source {shown} is not in the profile")

    return rule


def _title_rule(rules: TitleRules) -> Rule:
    seniority = {k: v for k, v in rules.seniority.items()}
    functions = {_norm(k): v for k, v in rules.functions.items()}
    mix = rules.mix
    total_mix = (mix.seniority if seniority else 0) + (mix.function if functions else 0)

    def rule(facts: FactSheet) -> _Share:
        level, function = facts.get("seniority"), facts.get("function")
        title = facts.get("title")
        if level is None and function is None:
            return _Share(rules.unknown, "no job title known")
        if total_mix == 0:
            return _Share(0.0, "the title criterion has no levels or functions")
        part = 0.0
        if seniority:
            part += mix.seniority * seniority.get(str(level), 0.0)
        if functions:
            part += mix.function * functions.get(_norm(function or ""), 0.0)
        said = f"title {title!r}" if title else "title"
        reason = f"{said}: {level or 'unknown level'}, {function or 'unknown function'}"
        return _Share(part / total_mix, reason, (facts.source("seniority") or "",))

    return rule


def _email_rule(rules: EmailTypeRules) -> Rule:
    table = {
        "business": rules.business,
        "role": rules.role,
        "free": rules.free,
        "disposable": rules.disposable,
    }

    def rule(facts: FactSheet) -> _Share:
        kind = facts.get("email_type")
        if kind not in table:
            return _Share(rules.unknown, "no email address known")
        return _Share(
            table[kind], f"{kind} email address", (facts.source("email_type") or "",)
        )

    return rule


def _technology_rule(rules: ValueRules) -> Rule:
    values = {_norm(k): v for k, v in rules.values.items()}

    def rule(facts: FactSheet) -> _Share:
        found = facts.get("technologies")
        if not found:
            return _Share(rules.unknown, "no technology known")
        hits = {t: values[_norm(t)] for t in found if _norm(t) in values}
        if not hits:
            return _Share(
                0.0,
                f"uses {', '.join(found)}; none in the profile",
                (facts.source("technologies") or "",),
            )
        best = max(hits, key=lambda t: hits[t])
        return _Share(hits[best], f"uses {best}", (facts.source("technologies") or "",))

    return rule


def message_text(facts: FactSheet) -> str:
    """The buyer's own words (subject and message), lower-cased."""
    memo = facts.memo.get("message_text")
    if memo is None:
        parts = [facts.get("subject"), facts.get("message")]
        memo = facts.memo["message_text"] = " ".join(str(p) for p in parts if p).lower()
    return str(memo)


def _intent_rule(rules: IntentRules) -> Rule:
    words = PhraseSet(rules.words)

    def rule(facts: FactSheet) -> _Share:
        text = message_text(facts)
        if not text:
            return _Share(rules.unknown, "no message")
        hits = words.found(text)
        if not hits:
            return _Share(0.0, "no buying words in the message", ("message",))
        share = min(1.0, rules.per_word * len(hits))
        return _Share(
            share, "message says " + ", ".join(repr(h) for h in hits), ("message",)
        )

    return rule


def _compile_criterion(criterion: Criterion) -> Rule:
    rules = criterion.typed_rules()
    kind = criterion.kind
    if kind == "employees":
        return _bands_rule("employees", rules, "employees")
    if kind == "number":
        assert isinstance(rules, NumberRules)
        return _bands_rule(rules.field, rules, rules.field.replace("_", " "))
    if kind == "industry":
        return _industry_rule(rules)
    if kind == "country":
        return _country_rule(rules)
    if kind == "field":
        assert isinstance(rules, FieldRules)
        return _lookup_rule(
            rules.field, rules.values, rules.unknown, rules.field.replace("_", " ")
        )
    if kind == "source":
        return _source_rule(rules)
    if kind == "title":
        return _title_rule(rules)
    if kind == "email_type":
        return _email_rule(rules)
    if kind == "mail_host":
        return _lookup_rule("mail_host", rules.values, rules.unknown, "mail host")
    if kind == "technology":
        return _technology_rule(rules)
    return _intent_rule(rules)


def _domains(facts: FactSheet) -> list[str]:
    return [d for d in (facts.get("domain"), facts.get("website_domain")) if d]


def _matches_domain(domain: str, blocked: str) -> bool:
    blocked = blocked.lower().strip(".")
    return domain == blocked or domain.endswith("." + blocked)


def _disqualified_by(rule: Disqualifier, facts: FactSheet) -> str | None:
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
        if value is not None and _norm(value) in {_norm(v) for v in rule.values}:
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


def _apportion(raw: Sequence[float]) -> list[int]:
    """Round each value so the rounded values sum to the rounded total."""
    total = round(sum(raw))
    floors = [math.floor(r) for r in raw]
    left = total - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: raw[i] - floors[i], reverse=True)
    for i in order[: max(0, left)]:
        floors[i] += 1
    return floors


def route_for(total: int, icp: Icp, disqualified: bool) -> str:
    """Return the route a score takes under the ICP's thresholds."""
    if disqualified:
        return "disqualified"
    if total >= icp.routes.rep_now:
        return "rep_now"
    if total >= icp.routes.fast_track:
        return "fast_track"
    return "nurture"


class Scorer:
    """An ICP compiled once, then applied to any number of leads."""

    def __init__(self, icp: Icp):
        self.icp = icp
        self.rules = [(c, _compile_criterion(c)) for c in icp.criteria]
        weight = sum(c.weight for c in icp.criteria)
        self.scale = 100.0 / weight if weight > 0 else 0.0
        words = icp.urgency_words or list(DEFAULT_URGENCY_WORDS)
        self.urgency = PhraseSet(words)

    def score(self, facts: FactSheet) -> Score:
        """Score one lead; the criteria's points sum to the total."""
        shares = [(c, rule(facts)) for c, rule in self.rules]
        raw = [c.weight * self.scale * max(0.0, min(1.0, s.share)) for c, s in shares]
        points = _apportion(raw)
        results = tuple(
            CriterionResult(
                c.name,
                c.kind,
                c.weight,
                s.share,
                p,
                s.reason,
                tuple(x for x in s.sources if x),
            )
            for (c, s), p in zip(shares, points, strict=True)
        )
        total = max(0, min(100, sum(points)))

        fired = []
        for rule in self.icp.disqualifiers:
            signal = _disqualified_by(rule, facts)
            if signal:
                reason = rule.reason or rule.kind.replace("_", " ")
                fired.append(f"{reason} ({signal})")

        text = message_text(facts)
        intent_hits = tuple(self.urgency.found(text))
        return Score(
            total=total,
            route=route_for(total, self.icp, bool(fired)),
            criteria=results,
            disqualified_reason=fired[0] if fired else None,
            disqualifiers=tuple(fired),
            intent=min(100, 34 * len(intent_hits)),
            intent_words=intent_hits,
            icp_version=self.icp.version,
        )


_SCORERS: dict[int, tuple[Icp, Scorer]] = {}


def score_lead(icp: Icp, facts: FactSheet) -> Score:
    """Score ``facts`` against ``icp``, compiling the ICP on first use."""
    cached = _SCORERS.get(id(icp))
    if cached is None or cached[0] is not icp:
        if len(_SCORERS) > 64:
            _SCORERS.clear()
        cached = (icp, Scorer(icp))
        _SCORERS[id(icp)] = cached
    return cached[1].score(facts)
