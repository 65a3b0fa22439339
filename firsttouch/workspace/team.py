"""The team section: reps, their hours and zones, and who covers when."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Strict(BaseModel):
    """A section that refuses unknown keys, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as 'America/New_York'"
        ) from None
    return value


class Shift(Strict):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Shift:
        if self.end <= self.start:
            raise ValueError(f"shift ends ({self.end}) before it starts ({self.start})")
        return self


def _start(shift: Shift) -> time:
    return shift.start


def _parse_shift(value: object) -> object:
    # "09:00-17:30" is the readable form; {start:, end:} is accepted too.
    if isinstance(value, str) and "-" in value:
        start, _, end = value.partition("-")
        return {"start": start.strip(), "end": end.strip()}
    return value


class Rep(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str
    email: str
    phone: str | None = None
    timezone: str
    working_hours: dict[str, list[Shift]] = Field(default_factory=dict)
    territories: list[str] = Field(default_factory=list)
    capacity: int | None = Field(default=None, ge=0)
    weight: float = Field(default=1.0, ge=0)
    manager: str | None = None
    role: str = Field(default="rep", pattern=r"^(rep|manager)$")
    away: bool = False
    on_call: bool = False
    joined: date | None = None

    _zone = field_validator("timezone")(check_zone)

    @field_validator("working_hours", mode="before")
    @classmethod
    def _hours(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        parsed: dict[str, object] = {}
        for day, shifts in value.items():
            key = str(day).lower()[:3]
            if key not in DAYS:
                raise ValueError(f"{day!r} is not a day; use mon, tue, ... sun")
            items = shifts if isinstance(shifts, list) else [shifts]
            parsed[key] = [_parse_shift(s) for s in items]
        return parsed

    # The team's public holidays, given by ``Team``: dates in the rep's own
    # zone on which no shift is worked.
    _holidays: frozenset[date] = PrivateAttr(default_factory=frozenset)

    def is_working(self, moment: datetime) -> bool:
        """True when ``moment`` (aware) falls in one of this rep's shifts."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        return any(s.start <= local.time() < s.end for s in self._shifts(local.date()))

    def _shifts(self, day: date) -> list[Shift]:
        if day in self._holidays:
            return []
        return sorted(self.working_hours.get(DAYS[day.weekday()], []), key=_start)

    def after_working_minutes(
        self, start: datetime, minutes: int, *, horizon_days: int = 14
    ) -> datetime | None:
        """The moment ``minutes`` of this rep's working time after ``start``.

        A lead that arrives on Friday evening with a one-hour follow-up is
        due an hour into Monday's shift, in the rep's own zone; the team's
        holidays are skipped like weekends. None when the rep has no working
        hours within ``horizon_days``.
        """
        zone = ZoneInfo(self.timezone)
        now = start.astimezone(UTC)
        first_day = start.astimezone(zone).date()
        left = timedelta(minutes=minutes)
        for offset in range(horizon_days + 1):
            day = first_day + timedelta(days=offset)
            for shift in self._shifts(day):
                # Shift bounds in UTC, so a shift across a DST change counts
                # the minutes that really pass.
                begin = datetime.combine(day, shift.start, tzinfo=zone).astimezone(UTC)
                end = datetime.combine(day, shift.end, tzinfo=zone).astimezone(UTC)
                if end <= now:
                    continue
                begin = max(begin, now)
                if end - begin >= left:
                    return begin + left
                left -= end - begin
        return None


class Team(Strict):
    name: str
    timezone: str
    holidays: list[date] = Field(default_factory=list)
    reps: list[Rep]

    _zone = field_validator("timezone")(check_zone)

    @model_validator(mode="after")
    def _references(self) -> Team:
        ids = [r.id for r in self.reps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rep ids must be unique; repeated: {duplicates}")
        for rep in self.reps:
            if rep.manager and rep.manager not in ids:
                raise ValueError(
                    f"rep {rep.id!r} names manager {rep.manager!r}, who is not a rep"
                )
            rep._holidays = frozenset(self.holidays)
        return self

    def rep(self, rep_id: str) -> Rep | None:
        return next((r for r in self.reps if r.id == rep_id), None)

    def managers(self) -> list[Rep]:
        return [r for r in self.reps if r.role == "manager"]
