"""The sequences section: nurture steps on the buyer's local clock."""

from __future__ import annotations

from pydantic import Field, field_validator

from firsttouch.qualify.routes import ROUTES
from firsttouch.workspace.respond import known_names
from firsttouch.workspace.team import Strict


class Step(Strict):
    after_days: float = Field(ge=0)
    channel: str = Field(pattern=r"^(email|sms|call|task)$")
    template: str | None = None
    send_at: str | None = None


class Sequence(Strict):
    name: str
    routes: list[str] = Field(default_factory=list)
    steps: list[Step]

    _routes = field_validator("routes")(lambda v: known_names(v, ROUTES, "routes"))
