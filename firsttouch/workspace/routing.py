"""The routing section: territories, round-robin and reassignment timing."""

from __future__ import annotations

from pydantic import Field, field_validator

from firsttouch.workspace.channels import secret_ref
from firsttouch.workspace.team import Strict


class Territory(Strict):
    name: str
    countries: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    industries: list[str] = Field(default_factory=list)
    min_employees: int | None = None
    max_employees: int | None = None
    reps: list[str]


class Routing(Strict):
    territories: list[Territory] = Field(default_factory=list)
    round_robin: bool = True
    reassign_after_minutes: int = Field(default=30, ge=1)
    on_call: str | None = None
    default_region: str = "US"


class Form(Strict):
    """A web form a team embeds: how its fields map and who may post it."""

    name: str
    source: str = "web_form"
    campaign: str | None = None
    field_map: dict[str, str] = Field(default_factory=dict)
    default_region: str | None = None
    honeypot: str | None = "website_url"
    allowed_origins: list[str] = Field(default_factory=list)
    thank_you_url: str | None = None
    hmac_secret: str | None = None
    rate_limit_per_minute: int = Field(default=30, ge=1)

    _secret = field_validator("hmac_secret")(secret_ref)
