"""The ICP section: the written ideal customer profile that scoring reads.

A criterion names a ``kind`` (what fact it reads) and ``rules`` (how a value
earns a share of its weight, 0.0 to 1.0). Each kind's rules are checked on
load, so a misspelt key is an error with its line, not a silent zero:

    employees      bands: [{min, max, points}], unknown
    number         field, bands: [{min, max, points}], unknown
    industry       values: {name: points}, synonyms: {name: [alias]}, unknown
    country        values: {ISO code: points}, unknown
    field          field, values: {value: points}, unknown
    source         values: {source or channel: points}, unknown
    title          seniority: {level: points}, functions: {function: points},
                   mix: {seniority, function}, unknown
    email_type     business, role, free, disposable, unknown
    mail_host      values: {google_workspace | microsoft_365 | other: points}
    technology     values: {technology: points}, unknown
    intent_words   words: [...], per_word, unknown

Disqualifiers close a lead with their reason whatever its score:
``competitor_domain`` and ``country_not_served`` (with ``values``),
``student_or_job_seeker``, ``disposable_email``, ``spam`` (``values`` adds
phrases), ``free_email``, and ``field_value`` (``field`` and ``values``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from firsttouch.workspace.team import Strict

SENIORITIES = ("c_level", "vp", "director", "manager", "individual", "student")


class Band(Strict):
    min: float | None = None
    max: float | None = None
    points: float = Field(ge=0, le=1)


class BandRules(Strict):
    bands: list[Band]
    unknown: float = Field(default=0.0, ge=0, le=1)


class NumberRules(BandRules):
    field: str


class ValueRules(Strict):
    values: dict[str, float]
    unknown: float = Field(default=0.0, ge=0, le=1)


class IndustryRules(ValueRules):
    synonyms: dict[str, list[str]] = Field(default_factory=dict)


class FieldRules(ValueRules):
    field: str


class TitleMix(Strict):
    seniority: float = Field(default=0.5, ge=0, le=1)
    function: float = Field(default=0.5, ge=0, le=1)


class TitleRules(Strict):
    seniority: dict[str, float] = Field(default_factory=dict)
    functions: dict[str, float] = Field(default_factory=dict)
    mix: TitleMix = Field(default_factory=TitleMix)
    unknown: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _levels(self) -> TitleRules:
        wrong = [s for s in self.seniority if s not in SENIORITIES]
        if wrong:
            raise ValueError(f"unknown seniority {wrong}; use {list(SENIORITIES)}")
        return self


class EmailTypeRules(Strict):
    business: float = Field(default=1.0, ge=0, le=1)
    role: float = Field(default=0.5, ge=0, le=1)
    free: float = Field(default=0.0, ge=0, le=1)
    disposable: float = Field(default=0.0, ge=0, le=1)
    unknown: float = Field(default=0.0, ge=0, le=1)


class IntentRules(Strict):
    words: list[str]
    per_word: float = Field(default=0.5, gt=0, le=1)
    unknown: float = Field(default=0.0, ge=0, le=1)


RULES_BY_KIND: dict[str, type[Strict]] = {
    "employees": BandRules,
    "number": NumberRules,
    "industry": IndustryRules,
    "country": ValueRules,
    "field": FieldRules,
    "source": ValueRules,
    "title": TitleRules,
    "email_type": EmailTypeRules,
    "mail_host": ValueRules,
    "technology": ValueRules,
    "intent_words": IntentRules,
}

DISQUALIFIER_KINDS = (
    "competitor_domain",
    "country_not_served",
    "student_or_job_seeker",
    "disposable_email",
    "spam",
    "free_email",
    "field_value",
)


class Criterion(Strict):
    name: str
    weight: float = Field(ge=0)
    kind: str
    rules: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_rules(self) -> Criterion:
        model = RULES_BY_KIND.get(self.kind)
        if model is None:
            raise ValueError(
                f"criterion {self.name!r} has unknown kind {self.kind!r}; "
                f"use one of {sorted(RULES_BY_KIND)}"
            )
        try:
            model.model_validate(self.rules)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(
                f"criterion {self.name!r} rules.{where}: {first['msg']}"
            ) from None
        return self

    def typed_rules(self) -> Any:
        """Return the rules parsed into the model for this criterion's kind."""
        return RULES_BY_KIND[self.kind].model_validate(self.rules)


class Disqualifier(Strict):
    kind: str
    values: list[str] = Field(default_factory=list)
    field: str | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _known_kind(self) -> Disqualifier:
        if self.kind not in DISQUALIFIER_KINDS:
            raise ValueError(
                f"unknown disqualifier kind {self.kind!r}; use one of "
                f"{list(DISQUALIFIER_KINDS)}"
            )
        if self.kind == "field_value" and not self.field:
            raise ValueError("a field_value disqualifier needs `field:`")
        return self


class Routes(Strict):
    rep_now: int = Field(default=70, ge=0, le=100)
    fast_track: int = Field(default=40, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Routes:
        if self.fast_track > self.rep_now:
            raise ValueError(
                f"routes.fast_track ({self.fast_track}) is above routes.rep_now "
                f"({self.rep_now}); fast track must be the lower threshold"
            )
        return self


class DnsSource(Strict):
    enabled: bool = False
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    nameservers: list[str] = Field(default_factory=list)
    port: int = Field(default=53, ge=1, le=65535)


class WebsiteSource(Strict):
    enabled: bool = False
    timeout_seconds: float = Field(default=4.0, gt=0, le=30)
    max_bytes: int = Field(default=1_000_000, ge=1024, le=20_000_000)
    max_redirects: int = Field(default=3, ge=0, le=10)


class DirectorySource(Strict):
    path: str | None = None
    fuzzy_threshold: float = Field(default=90.0, ge=50, le=100)


class PaidApiSource(Strict):
    """A paid data API; off unless enabled with a base URL and a key name."""

    enabled: bool = False
    provider: Literal["people_data_labs"] = "people_data_labs"
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_seconds: float = Field(default=4.0, gt=0, le=30)


class LlmBrief(Strict):
    """An OpenAI-compatible endpoint that may rewrite the brief; off by default."""

    enabled: bool = False
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    api_key_env: str | None = None
    timeout_seconds: float = Field(default=8.0, gt=0, le=60)


class Enrichment(Strict):
    """Where facts come from. Every source that leaves the machine is off by default."""

    budget_seconds: float = Field(default=8.0, gt=0, le=120)
    cache_ttl_hours: float = Field(default=168.0, ge=0)
    dns: DnsSource = Field(default_factory=DnsSource)
    website: WebsiteSource = Field(default_factory=WebsiteSource)
    directory: DirectorySource = Field(default_factory=DirectorySource)
    paid_api: PaidApiSource = Field(default_factory=PaidApiSource)
    llm_brief: LlmBrief = Field(default_factory=LlmBrief)


class Icp(Strict):
    version: str
    description: str | None = None
    criteria: list[Criterion] = Field(default_factory=list)
    disqualifiers: list[Disqualifier] = Field(default_factory=list)
    routes: Routes = Field(default_factory=Routes)
    urgency_words: list[str] = Field(default_factory=list)
    enrichment: Enrichment = Field(default_factory=Enrichment)
