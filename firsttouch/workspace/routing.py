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

    @field_validator("field_map")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        # A field mapped to anything else (``fname: frist_name``) would land
        # in the lead's fields and leave the fact empty: "Hi there".
        from firsttouch.capture.forms import TARGETS

        unknown = sorted({t for t in value.values() if t not in TARGETS})
        if unknown:
            raise ValueError(
                f"unknown field_map targets {unknown}; map a form field to one "
                f"of {sorted(TARGETS)} (other fields are kept as sent)"
            )
        return value
