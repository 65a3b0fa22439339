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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from firsttouch.qualify.disqualifiers import disqualified_by
from firsttouch.qualify.facts import FactSheet
from firsttouch.qualify.phrases import (
    PhraseSet,
    message_text,
    norm,
    phrase_set,
)
from firsttouch.workspace.icp import (
    BandRules,
    Criterion,
    EmailTypeRules,
    FieldRules,
    Icp,
    IndustryRules,
    IntentRules,
    NumberRules,
    TitleRules,
    ValueRules,
)

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
    table = {norm(k): v for k, v in values.items()}
    alias = {norm(k): norm(v) for k, v in (aliases or {}).items()}

    def rule(facts: FactSheet) -> _Share:
        raw = facts.get(fact)
        if raw is None:
            return _Share(unknown, f"no {label} known")
        key = norm(raw)
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
    named = {norm(a): n for a, n in aliases.items()}
    named.update({norm(n): n for n in rules.values})
    phrases = phrase_set(tuple(sorted(named, key=len, reverse=True)))
    values = {norm(k): v for k, v in rules.values.items()}

    def rule(facts: FactSheet) -> _Share:
        result = exact(facts)
        raw = facts.get("industry")
        if raw is None or result.share > 0:
            return result
        phrase = phrases.first(norm(raw))
        if phrase is None:
            return result
        name = named[phrase]
        return _Share(
            values[norm(name)], f"industry {raw} (reads as {name})", result.sources
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
    values = {norm(k): v for k, v in rules.values.items()}

    def rule(facts: FactSheet) -> _Share:
        # The campaign source is the more specific; the channel is the fallback.
        for name in ("source", "channel"):
            raw = facts.get(name)
            if raw is not None and norm(raw) in values:
                return _Share(
                    values[norm(raw)], f"{name} {raw}", (facts.source(name) or "",)
                )
        if facts.get("source") is None and facts.get("channel") is None:
            return _Share(rules.unknown, "no source known")
        shown = facts.get("source") or facts.get("channel")
        return _Share(0.0, f"source {shown} is not in the profile")

    return rule


def _title_rule(rules: TitleRules) -> Rule:
    seniority = {k: v for k, v in rules.seniority.items()}
    functions = {norm(k): v for k, v in rules.functions.items()}
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
            part += mix.function * functions.get(norm(function or ""), 0.0)
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
    values = {norm(k): v for k, v in rules.values.items()}

    def rule(facts: FactSheet) -> _Share:
        found = facts.get("technologies")
        if not found:
            return _Share(rules.unknown, "no technology known")
        hits = {t: values[norm(t)] for t in found if norm(t) in values}
        if not hits:
            return _Share(
                0.0,
                f"uses {', '.join(found)}; none in the profile",
                (facts.source("technologies") or "",),
            )
        best = max(hits, key=lambda t: hits[t])
        return _Share(hits[best], f"uses {best}", (facts.source("technologies") or "",))

    return rule


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
            signal = disqualified_by(rule, facts)
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
