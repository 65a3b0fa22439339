"""Booking speed: slots from a busy calendar, and the booking page itself.

Figures (one line each):
  booking_calendar_parse_ms  parse a busy rep's ICS (120 weekly series, 40
                             single events, one all-day event), mean.
  booking_expand_ms          expand the recurrences over a 14-day horizon
                             (recurring-ical-events), mean; done once per
                             calendar read, which is kept for five minutes.
  booking_slots_ms           lay out the free slots around the busy spans.
  booking_page_p50_ms        GET /book/{token} through the app on SQLite with
                             the calendar kept (the normal case), median.
  booking_page_p99_ms        the same, 99th percentile.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from firsttouch.clock import VirtualClock  # noqa: E402
from firsttouch.config import Settings  # noqa: E402
from firsttouch.logs import configure_logging  # noqa: E402
from firsttouch.respond.availability import (  # noqa: E402
    Interval,
    busy_intervals,
    free_slots,
    read_calendar,
)
from firsttouch.respond.booking import BookingClaims, calendar_busy, issue_token  # noqa: E402
from firsttouch.runtime import Runtime  # noqa: E402
from firsttouch.store import migrate  # noqa: E402
from firsttouch.store.db import Database  # noqa: E402
from firsttouch.web import create_app  # noqa: E402
from firsttouch.workspace import load_workspace  # noqa: E402

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
RUNS = 20
PAGES = 200


def busy_ics() -> str:
    """A heavily booked rep: many weekly series, one-offs and a day off."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//firsttouch bench//EN"]
    days = ["MO", "TU", "WE", "TH", "FR"]
    for n in range(120):
        offset = timedelta(days=n % 5, minutes=30 * (n % 16))
        start = datetime(2026, 1, 5, 8, 0) + offset
        lines += [
            "BEGIN:VEVENT",
            f"UID:series-{n}@bench",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART;TZID=America/Los_Angeles:{start:%Y%m%dT%H%M%S}",
            "DURATION:PT25M",
            f"RRULE:FREQ=WEEKLY;BYDAY={days[n % 5]}",
            f"SUMMARY:Series {n}",
            "END:VEVENT",
        ]
    for n in range(40):
        start = NOW + timedelta(hours=7 * n)
        lines += [
            "BEGIN:VEVENT",
            f"UID:single-{n}@bench",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{start + timedelta(minutes=45):%Y%m%dT%H%M%SZ}",
            f"SUMMARY:Single {n}",
            "END:VEVENT",
        ]
    lines += [
        "BEGIN:VEVENT",
        "UID:off@bench",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;VALUE=DATE:20260318",
        "DTEND;VALUE=DATE:20260319",
        "SUMMARY:Day off",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def main() -> None:
    configure_logging("console", "WARNING")
    workspace = load_workspace(ROOT / "examples" / "workspace")
    maya = workspace.team.rep("maya")
    assert maya is not None
    booking = workspace.respond.booking.model_copy(update={"horizon_days": 14})

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "busy.ics"
        path.write_text(busy_ics())

        started = time.perf_counter()
        for _ in range(RUNS):
            calendar = read_calendar(str(path))
        parse = (time.perf_counter() - started) / RUNS

        window = Interval(NOW, NOW + timedelta(days=15))
        started = time.perf_counter()
        for _ in range(RUNS):
            busy = busy_intervals(calendar, window, maya.timezone)
        expand = (time.perf_counter() - started) / RUNS

        started = time.perf_counter()
        for _ in range(RUNS):
            slots = free_slots(maya, booking, busy, NOW)
        layout = (time.perf_counter() - started) / RUNS

        print(f"bench: booking_calendar_parse_ms value={ms(parse)} unit=ms target=200")
        print(
            f"bench: booking_expand_ms value={ms(expand)} unit=ms target=300 "
            f"(busy={len(busy)})"
        )
        print(
            f"bench: booking_slots_ms value={ms(layout)} unit=ms target=10 "
            f"(slots={len(slots)})"
        )

        page_times = page_latencies(workspace, path, Path(folder))
        cuts = statistics.quantiles(page_times, n=100)
        print(
            f"bench: booking_page_p50_ms value={ms(statistics.median(page_times))} "
            "unit=ms target=100"
        )
        print(f"bench: booking_page_p99_ms value={ms(cuts[98])} unit=ms target=300")


def page_latencies(workspace, calendar: Path, folder: Path) -> list[float]:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{folder / 'bench.db'}"
    migrate.upgrade(url)
    db = Database(url)
    clock = VirtualClock(NOW)
    settings = Settings(
        workspace_path=ROOT / "examples" / "workspace",
        database_url=url,
        env={"TWILIO_AUTH_TOKEN": "bench"},
    )
    runtime = Runtime(settings=settings, db=db, workspace=workspace, clock=clock)
    booking = workspace.respond.booking.model_copy(
        update={"busy_calendars": {"maya": str(calendar)}}
    )
    respond = workspace.respond.model_copy(update={"booking": booking})
    runtime.workspace = workspace.model_copy(update={"respond": respond})
    runtime.services["busy_source"] = calendar_busy(runtime.workspace)
    token = issue_token(settings.secret_key, clock, BookingClaims(owner_id="maya"))

    times = []
    with TestClient(create_app(runtime)) as client:
        client.get(f"/book/{token}")  # the first view reads the calendar
        for _ in range(PAGES):
            started = time.perf_counter()
            response = client.get(f"/book/{token}")
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
    db.dispose()
    return times


if __name__ == "__main__":
    main()
