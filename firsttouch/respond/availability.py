"""When a rep can meet: working hours minus busy times, in the rep's own zone.

Slots are laid out on the rep's local wall clock (09:00, 09:30, ...) day by
day, so a shift that starts at 09:00 still starts at 09:00 the week the
clocks change. A local time that does not exist (the spring-forward gap) is
skipped; one that happens twice (the autumn fold) is taken the first time.

Busy times come from an ICS file or URL. Recurring events are expanded with
``recurring-ical-events``, which applies RRULE, RDATE, EXDATE and moved
occurrences (RECURRENCE-ID) in the event's own zone (RFC 5545 section 3.8.5).
An all-day event blocks the rep's whole local day; a floating time is read
in the rep's zone. Transparent and cancelled events block nothing.

Judgement here does no I/O except ``read_calendar``, which is handed the
source and an HTTP client.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import icalendar
import recurring_ical_events

from firsttouch.errors import InputError
from firsttouch.workspace.respond import Booking
from firsttouch.workspace.team import DAYS, Rep


class CalendarError(InputError):
    """A busy calendar cannot be read; names the source and what went wrong."""

    code = "calendar_unreadable"


@dataclass(frozen=True, order=True)
class Interval:
    """A span of time, aware UTC, end exclusive."""

    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


Slot = Interval


def read_calendar(
    source: str,
    *,
    base_dir: Path | None = None,
    http: httpx.Client | None = None,
    timeout: float = 10.0,
) -> icalendar.Calendar:
    """Read an ICS calendar from a file path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        data = _fetch(source, http, timeout)
    else:
        path = Path(source)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CalendarError(
                f"cannot read busy calendar {path}: {exc.strerror}; check "
                "respond.booking.busy_calendars in the workspace"
            ) from exc

    try:
        return icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise CalendarError(f"busy calendar {source} is not valid ICS: {exc}") from exc


def _fetch(url: str, http: httpx.Client | None, timeout: float) -> bytes:
    client = http or httpx.Client(timeout=timeout)
    try:
        response = client.get(url, follow_redirects=True)
        response.raise_for_status()
        return response.content
    except httpx.HTTPError as exc:
        raise CalendarError(f"cannot fetch busy calendar {url}: {exc}") from exc
    finally:
        if http is None:
            client.close()


def busy_intervals(
    calendar: icalendar.Calendar, window: Interval, zone: str
) -> list[Interval]:
    """Return the calendar's busy spans that touch ``window``, recurrences expanded."""
    local = ZoneInfo(zone)
    busy = []
    for event in recurring_ical_events.of(calendar).between(window.start, window.end):
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        start = _as_utc(event.start, local)
        end = _as_utc(event.end, local) if event.end is not None else start
        if end > start:
            busy.append(Interval(start, end))
    return merge(busy)


def _as_utc(value: date | datetime, zone: ZoneInfo) -> datetime:
    # A DATE (all-day) value means the rep's local midnight; a floating
    # DATE-TIME means the rep's wall clock (RFC 5545 section 3.3.5, form #1).
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Return the intervals sorted, with overlapping ones joined."""
    merged: list[Interval] = []
    for item in sorted(intervals):
        if merged and item.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, item.end))
        else:
            merged.append(item)
    return merged


def booking_window(now: datetime, booking: Booking) -> Interval:
    """Return the span slots may fall in: after the notice, up to the horizon."""
    start = now + timedelta(minutes=booking.min_notice_minutes)
    return Interval(start, now + timedelta(days=booking.horizon_days))


def free_slots(
    rep: Rep,
    booking: Booking,
    busy: Sequence[Interval],
    now: datetime,
    *,
    holidays: Iterable[date] = (),
    step_minutes: int | None = None,
) -> list[Slot]:
    """Return the rep's bookable slots, earliest first."""
    zone = ZoneInfo(rep.timezone)
    window = booking_window(now, booking)
    length = timedelta(minutes=booking.meeting_minutes)
    step = timedelta(minutes=step_minutes or booking.meeting_minutes)
    buffer = timedelta(minutes=booking.buffer_minutes)
    days_off = set(holidays)
    blocked = merge(busy)

    slots = []
    day = window.start.astimezone(zone).date()
    last_day = window.end.astimezone(zone).date()
    while day <= last_day:
        if day not in days_off:
            for start in _starts_on(day, rep, zone, length, step):
                slot = Interval(start, start + length)
                padded = Interval(start - buffer, slot.end + buffer)
                inside = window.start <= slot.start and slot.end <= window.end
                if inside and not _collides(padded, blocked):
                    slots.append(slot)
        day += timedelta(days=1)
    return slots


def _collides(span: Interval, merged: Sequence[Interval]) -> bool:
    """True when ``span`` overlaps any of the sorted, disjoint ``merged``."""
    # The only candidate is the last busy span starting before ``span`` ends.
    index = bisect_left(merged, span.end, key=lambda b: b.start) - 1
    return index >= 0 and merged[index].end > span.start


def _starts_on(
    day: date, rep: Rep, zone: ZoneInfo, length: timedelta, step: timedelta
) -> Iterable[datetime]:
    """Yield UTC starts of slots that fit a shift on ``day``, on the wall clock."""
    for shift in rep.working_hours.get(DAYS[day.weekday()], []):
        wall = datetime.combine(day, shift.start)
        shift_end = datetime.combine(day, shift.end)
        while wall + length <= shift_end:
            aware = wall.replace(tzinfo=zone)
            # A wall time in the spring-forward gap does not survive a round
            # trip through UTC: nobody can meet at 02:30 that night.
            if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
                yield aware.astimezone(UTC)
            wall += step
