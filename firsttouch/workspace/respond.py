"""The respond section: which first touch goes out, the SLA clocks, consent
limits and booking.

Every key added here has a default, so a workspace written before it still
loads unchanged.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from firsttouch.capture.inbound_channels import CHANNELS
from firsttouch.qualify.routes import ROUTES
from firsttouch.workspace.team import Strict

ACTIONS = (
    "email",
    "email_reply",
    "sms",
    "sms_reply",
    "sms_textback",
    "call_bridge",
    "booking_link",
)

# The template each action renders when a policy names none.
DEFAULT_TEMPLATES = {
    "email": "first_touch_email",
    "email_reply": "first_touch_email",
    "booking_link": "first_touch_email",
    "sms": "first_touch_sms",
    "sms_reply": "first_touch_sms",
    "sms_textback": "missed_call_sms",
}


class Policy(Strict):
    name: str
    channels: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    routes: list[str] = Field(default_factory=list)
    actions: list[str]
    delay_seconds: int = Field(default=0, ge=0)
    templates: dict[str, str] = Field(default_factory=dict)

    # A misspelt name would not fail: the policy would just never match.
    _channels = field_validator("channels")(
        lambda v: known_names(v, CHANNELS, "channels")
    )
    _routes = field_validator("routes")(lambda v: known_names(v, ROUTES, "routes"))

    @field_validator("actions")
    @classmethod
    def _known_actions(cls, value: list[str]) -> list[str]:
        known_names(value, ACTIONS, "actions")
        if not value:
            raise ValueError("a policy needs at least one action")
        return value

    @field_validator("templates")
    @classmethod
    def _known_template_actions(cls, value: dict[str, str]) -> dict[str, str]:
        known_names(list(value), ACTIONS, "actions in templates")
        return value


def known_names(values: list[str], known: tuple[str, ...], what: str) -> list[str]:
    """Return ``values`` if each is in ``known``; else say which are allowed."""
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; use any of {list(known)}")
    return values


class Sla(Strict):
    first_touch_minutes: int = Field(default=5, ge=1)
    human_followup_business_minutes: int = Field(default=60, ge=1)
    # How long after the owner is alerted of a breach the manager hears of it.
    escalate_to_manager_minutes: int = Field(default=15, ge=0)


class Limits(Strict):
    """How often one contact may be touched, on top of the law's own limits."""

    touches_per_contact: int = Field(default=4, ge=1)
    window_hours: int = Field(default=24, ge=1)
    # A buyer who writes again (another form, another address of theirs)
    # within this many hours of a first touch gets no second introduction;
    # the later inbound counts as answered by the earlier touch. 0 turns it off.
    one_intro_hours: int = Field(default=24, ge=0)


class Booking(Strict):
    """The built-in booking page, or a team's Cal.com / Calendly link instead."""

    external_url: str | None = None
    meeting_minutes: int = Field(default=30, ge=5, le=240)
    buffer_minutes: int = Field(default=10, ge=0, le=120)
    min_notice_minutes: int = Field(default=120, ge=0)
    horizon_days: int = Field(default=7, ge=1, le=60)
    busy_calendars: dict[str, str] = Field(default_factory=dict)


class Respond(Strict):
    policies: list[Policy] = Field(default_factory=list)
    sla: Sla = Field(default_factory=Sla)
    limits: Limits = Field(default_factory=Limits)
    booking: Booking = Field(default_factory=Booking)
    # A missed inbound call is texted back unless a policy says otherwise.
    missed_call_textback: bool = True

    def template_for(self, policy: Policy | None, action: str) -> str | None:
        """Return the template an action renders under ``policy``."""
        if policy is not None and action in policy.templates:
            return policy.templates[action]
        return DEFAULT_TEMPLATES.get(action)
