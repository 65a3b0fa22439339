"""The knobs of the leak score: working hours, patience, and estimate inputs.

Defaults are shown in every report beside the figures they shape; every one
can be changed from the CLI (``--assume key=value``) or by the caller of
``report_from_records``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator


class LeakSettings(BaseModel):
    """Assumptions the score and the estimate rest on."""

    timezone: str = "UTC"
    business_start_hour: int = Field(default=9, ge=0, le=23)
    business_end_hour: int = Field(default=17, ge=1, le=24)
    business_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    pending_hours: float = Field(default=24.0, ge=0)
    quiet_after_days: float = Field(default=14.0, gt=0)
    recent_activity_days: float = Field(default=14.0, gt=0)
    stage_age_limits: dict[str, float] = Field(default_factory=dict)
    default_stage_age_days: float | None = Field(default=None, gt=0)
    minutes_per_touch: float = Field(default=6.0, gt=0)
    lift_within_hour: float = Field(default=7.0, ge=1)
    effect_reaching_revenue: float = Field(default=0.1, ge=0, le=1)
    conversion_rate: float | None = Field(default=None, ge=0, le=1)
    average_deal_value: float | None = Field(default=None, ge=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value


ADJUSTABLE: tuple[str, ...] = (
    "business_start_hour",
    "business_end_hour",
    "pending_hours",
    "quiet_after_days",
    "recent_activity_days",
    "default_stage_age_days",
    "minutes_per_touch",
    "lift_within_hour",
    "effect_reaching_revenue",
    "conversion_rate",
    "average_deal_value",
)


def settings_with(base: LeakSettings, assignments: list[str]) -> LeakSettings:
    """Return ``base`` changed by ``key=value`` strings; raise ``ValueError`` if bad.

    ``stage:NAME=DAYS`` sets the age limit of one stage.
    """
    changes: dict[str, object] = {}
    stage_limits = dict(base.stage_age_limits)
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"{assignment!r}: expected key=value")

        if key.startswith("stage:"):
            stage_limits[key.removeprefix("stage:")] = float(value)
        elif key in ADJUSTABLE:
            changes[key] = float(value)
        else:
            known = ", ".join(ADJUSTABLE)
            raise ValueError(f"{key!r} is not adjustable; known: {known}, stage:NAME")

    changes["stage_age_limits"] = stage_limits
    return LeakSettings.model_validate({**base.model_dump(), **changes})
