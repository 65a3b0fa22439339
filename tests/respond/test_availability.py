"""Availability: working hours minus real ICS busy times, DST-correct."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from firsttouch.respond.availability import (
    CalendarError,
    Interval,
    busy_intervals,
    free_slots,
    read_calendar,
)
from firsttouch.workspace import Workspace
from firsttouch.workspace.respond import Booking
from firsttouch.workspace.team import Rep

CALENDARS = Path(__file__).parent / "calendars"
T0 = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # Tue 07:00 in Los Angeles
LA = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")


def local_starts(slots: list[Interval], zone: ZoneInfo, day: date) -> list[str]:
    starts = [s.start.astimezone(zone) for s in slots]
    return [f"{s:%H:%M}" for s in starts if s.date() == day]


def maya_slots(workspace: Workspace, horizon_days: int = 7) -> list[Interval]:
    maya = workspace.team.rep("maya")
    assert maya is not None
    booking = Booking(horizon_days=horizon_days)
    calendar = read_calendar(str(CALENDARS / "maya_busy.ics"))
    window = Interval(T0, datetime(2026, 4, 1, tzinfo=UTC))
    busy = busy_intervals(calendar, window, maya.timezone)
    return free_slots(maya, booking, busy, T0)


def test_weekly_meeting_set_in_winter_blocks_the_same_wall_time_after_dst(
    workspace: Workspace,
) -> None:
    # The series began in February (PST); on 10 March (PDT) it is still at
    # 10:00 Pacific, i.e. 17:00 UTC, not 18:00 UTC.
    slots = maya_slots(workspace)
    tuesday = local_starts(slots, LA, date(2026, 3, 10))

    assert tuesday[:2] == ["09:00", "11:30"]
    assert "09:30" not in tuesday  # the 10-minute buffer runs into 10:00
    assert "11:00" not in tuesday  # and out of 11:00
    assert tuesday[-1] == "16:30"


def test_notice_keeps_slots_two_hours_away(workspace: Workspace) -> None:
    slots = maya_slots(workspace)

    assert slots[0].start == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    assert all(s.start >= datetime(2026, 3, 10, 16, 0, tzinfo=UTC) for s in slots)


def test_all_day_event_blocks_the_reps_whole_local_day(workspace: Workspace) -> None:
    slots = maya_slots(workspace)

    assert local_starts(slots, LA, date(2026, 3, 11)) == []


def test_transparent_and_cancelled_events_block_nothing(workspace: Workspace) -> None:
    slots = maya_slots(workspace)
    thursday = local_starts(slots, LA, date(2026, 3, 12))

    assert thursday[0] == "08:00"
    assert len(thursday) == 18  # 08:00 to 16:30, every half hour


def test_floating_time_is_read_on_the_reps_wall_clock(workspace: Workspace) -> None:
    slots = maya_slots(workspace)
    friday = local_starts(slots, LA, date(2026, 3, 13))

    for blocked in ("11:30", "12:00", "12:30", "13:00"):
        assert blocked not in friday
    assert "11:00" in friday and "13:30" in friday
    assert friday[-1] == "15:30"  # Fridays end at 16:00


def test_exdate_frees_one_occurrence_and_a_moved_one_blocks_its_new_time(
    workspace: Workspace,
) -> None:
    slots = maya_slots(workspace, horizon_days=15)

    assert "10:00" in local_starts(slots, LA, date(2026, 3, 17))
    moved_day = local_starts(slots, LA, date(2026, 3, 24))
    assert "10:00" in moved_day
    assert "14:00" not in moved_day


def test_weekends_and_team_holidays_have_no_slots(workspace: Workspace) -> None:
    maya = workspace.team.rep("maya")
    assert maya is not None
    slots = free_slots(maya, Booking(), [], T0, holidays=[date(2026, 3, 12)])

    assert local_starts(slots, LA, date(2026, 3, 12)) == []
    assert local_starts(slots, LA, date(2026, 3, 14)) == []
    assert local_starts(slots, LA, date(2026, 3, 16))[0] == "08:00"


def test_slots_follow_the_wall_clock_across_the_european_change(
    workspace: Workspace,
) -> None:
    hannah = workspace.team.rep("hannah")
    assert hannah is not None
    now = datetime(2026, 3, 25, 6, 0, tzinfo=UTC)
    calendar = read_calendar("hannah_busy.ics", base_dir=CALENDARS)
    window = Interval(now, datetime(2026, 4, 5, tzinfo=UTC))
    busy = busy_intervals(calendar, window, hannah.timezone)

    slots = free_slots(hannah, Booking(buffer_minutes=0), busy, now)

    before = [
        s for s in slots if s.start.astimezone(LONDON).date() == date(2026, 3, 27)
    ]
    after = [s for s in slots if s.start.astimezone(LONDON).date() == date(2026, 3, 30)]
    assert before[0].start == datetime(2026, 3, 27, 8, 30, tzinfo=UTC)  # GMT
    assert after[0].start == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # BST
    # The stand-up is 09:00-09:30 London on both sides of the change.
    for day in (date(2026, 3, 27), date(2026, 3, 30)):
        assert local_starts(slots, LONDON, day)[:2] == ["08:30", "09:30"]


def test_wall_times_in_the_spring_forward_gap_are_skipped() -> None:
    night_owl = Rep(
        id="owl",
        name="Night Owl",
        email="owl@example.test",
        timezone="America/Los_Angeles",
        working_hours={"sun": ["01:00-04:00"]},
    )
    now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)

    slots = free_slots(night_owl, Booking(min_notice_minutes=0), [], now)

    starts = local_starts(slots, LA, date(2026, 3, 8))
    assert starts == ["01:00", "01:30", "03:00", "03:30"]
    assert all(s.start.astimezone(LA).time() != time(2, 0) for s in slots)


@pytest.fixture
def calendar_server() -> Iterator[str]:
    body = (CALENDARS / "hannah_busy.ics").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/cal/hannah.ics":
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_calendar_is_read_from_a_url(calendar_server: str) -> None:
    with httpx.Client() as http:
        calendar = read_calendar(f"{calendar_server}/cal/hannah.ics", http=http)
    window = Interval(T0, datetime(2026, 3, 12, tzinfo=UTC))

    busy = busy_intervals(calendar, window, "Europe/London")

    assert busy[0] == Interval(
        datetime(2026, 3, 11, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 11, 9, 30, tzinfo=UTC),
    )


def test_unreadable_calendars_say_which_source(
    calendar_server: str, tmp_path: Path
) -> None:
    with pytest.raises(CalendarError, match="missing.ics"):
        read_calendar(f"{calendar_server}/cal/missing.ics")
    with pytest.raises(CalendarError, match="nowhere.ics"):
        read_calendar(str(tmp_path / "nowhere.ics"))
    (tmp_path / "bad.ics").write_text("this is not a calendar")
    with pytest.raises(CalendarError, match="not valid ICS"):
        read_calendar(str(tmp_path / "bad.ics"))
