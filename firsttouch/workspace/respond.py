"""The respond section: which first touch goes out, and the SLA clocks."""

from __future__ import annotations

from pydantic import Field

from firsttouch.workspace.team import Strict


class Policy(Strict):
    name: str
    channels: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    routes: list[str] = Field(default_factory=list)
    actions: list[str]
    delay_seconds: int = Field(default=0, ge=0)


class Sla(Strict):
    first_touch_minutes: int = Field(default=5, ge=1)
    human_followup_business_minutes: int = Field(default=60, ge=1)


class Respond(Strict):
    policies: list[Policy] = Field(default_factory=list)
    sla: Sla = Field(default_factory=Sla)
