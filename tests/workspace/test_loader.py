"""Workspace loading: the example is valid, and every mistake is reported
with its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from firsttouch.errors import WorkspaceError
from firsttouch.workspace import load_workspace

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "workspace"
STARTER = ROOT / "firsttouch" / "workspace" / "starter"


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = (EXAMPLE / "firsttouch.yaml").read_text()
    assert old in text, old
    target = tmp_path / "firsttouch.yaml"
    target.write_text(text.replace(old, new, 1))
    return target


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_example_workspace_is_valid_with_four_reps_in_three_zones() -> None:
    workspace = load_workspace(EXAMPLE)
    assert len(workspace.team.reps) == 4
    assert len({r.timezone for r in workspace.team.reps}) == 3
    assert "first_touch_email" in workspace.templates


def test_starter_workspace_is_valid() -> None:
    load_workspace(STARTER)


def test_bad_time_zone_names_line_and_field(tmp_path: Path) -> None:
    path = _broken(tmp_path, "timezone: Europe/London", "timezone: Europe/Lndon")
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(path)
    problem = caught.value.problems[0]
    assert problem.field == "team.reps[2].timezone"
    assert problem.line == _line_of(path, "Europe/Lndon")
    assert "unknown time zone 'Europe/Lndon'" in problem.message
    assert str(path) in str(caught.value)


def test_unknown_key_is_an_error_not_ignored(tmp_path: Path) -> None:
    path = _broken(
        tmp_path, "      capacity: 40\n", "      capacity: 40\n      capcity: 3\n"
    )
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(path)
    problem = caught.value.problems[0]
    assert problem.field == "team.reps[0].capcity"
    assert problem.line == _line_of(path, "capcity")


def test_literal_secret_is_refused(tmp_path: Path) -> None:
    path = _broken(tmp_path, "auth_token: ${TWILIO_AUTH_TOKEN}", "auth_token: abc123")
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(path)
    problem = caught.value.problems[0]
    assert problem.field == "channels.twilio.auth_token"
    assert "${" in problem.message
    assert "abc123" not in str(caught.value)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "firsttouch.yaml"
    path.write_text("version: 1\nteam:\n  name: [unclosed\n")
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(path)
    assert caught.value.problems[0].field == "(syntax)"
    assert caught.value.problems[0].line is not None


def test_territory_naming_an_unknown_rep_is_refused(tmp_path: Path) -> None:
    path = _broken(tmp_path, "reps: [hannah]", "reps: [hanna]")
    with pytest.raises(WorkspaceError, match="hanna"):
        load_workspace(path)


def test_missing_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="firsttouch init"):
        load_workspace(tmp_path)


def test_rep_working_hours_follow_their_own_zone() -> None:
    from datetime import UTC, datetime

    workspace = load_workspace(EXAMPLE)
    maya = workspace.team.rep("maya")
    hannah = workspace.team.rep("hannah")
    assert maya and hannah
    # Tuesday 16:00 UTC: 08:00 in Los Angeles, 16:00 in London.
    moment = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    assert maya.is_working(moment)
    assert hannah.is_working(moment)
    # Sunday: nobody.
    assert not maya.is_working(datetime(2026, 3, 8, 18, 0, tzinfo=UTC))


def test_working_minutes_skip_nights_weekends_and_follow_dst() -> None:
    from datetime import UTC, datetime

    from firsttouch.workspace import load_workspace

    luis = load_workspace(EXAMPLE).team.rep("luis")  # New York, 09-18, Fri 09-17
    assert luis is not None
    # Tuesday 11:00 EDT: an hour later.
    assert luis.after_working_minutes(
        datetime(2026, 3, 10, 15, 0, tzinfo=UTC), 60
    ) == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    # Tuesday 17:30 EDT: half an hour tonight, half tomorrow from 09:00.
    assert luis.after_working_minutes(
        datetime(2026, 3, 10, 21, 30, tzinfo=UTC), 60
    ) == datetime(2026, 3, 11, 13, 30, tzinfo=UTC)
    # Friday 18:00 EDT: Monday 10:00 EDT.
    assert luis.after_working_minutes(
        datetime(2026, 3, 13, 22, 0, tzinfo=UTC), 60
    ) == datetime(2026, 3, 16, 14, 0, tzinfo=UTC)
    # The Friday before the US clock change (EST then): Monday 10:00 EDT.
    assert luis.after_working_minutes(
        datetime(2026, 3, 6, 23, 0, tzinfo=UTC), 60
    ) == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def test_team_holidays_are_not_working_time() -> None:
    from datetime import UTC, datetime

    from firsttouch.workspace import load_workspace

    team = load_workspace(EXAMPLE).team  # holidays: 2026-12-25, 2027-01-01
    luis = team.rep("luis")  # New York, 09-18, Fri 09-17
    assert luis is not None
    # Christmas Day is a Friday: 11:00 EST is not working time.
    assert not luis.is_working(datetime(2026, 12, 25, 16, 0, tzinfo=UTC))
    assert luis.is_working(datetime(2026, 12, 24, 16, 0, tzinfo=UTC))
    # Thursday 17:30 EST: half an hour tonight, the rest on Monday from 09:00,
    # not on the holiday in between.
    assert luis.after_working_minutes(
        datetime(2026, 12, 24, 22, 30, tzinfo=UTC), 60
    ) == datetime(2026, 12, 28, 14, 30, tzinfo=UTC)
    # A lead on New Year's Eve evening is due on Monday 4 January.
    assert luis.after_working_minutes(
        datetime(2026, 12, 31, 23, 30, tzinfo=UTC), 30
    ) == datetime(2027, 1, 4, 14, 30, tzinfo=UTC)


def _copy_example(tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "ws"
    shutil.copytree(EXAMPLE, target)
    return target


def test_a_template_syntax_error_names_its_file_and_line(tmp_path: Path) -> None:
    from firsttouch.errors import WorkspaceError
    from firsttouch.workspace import load_workspace

    folder = _copy_example(tmp_path)
    template = folder / "templates" / "first_touch_email.j2"
    template.write_text(template.read_text() + "\n{% if %}\n")

    with pytest.raises(WorkspaceError) as caught:
        load_workspace(folder)
    problem = caught.value.problems[0]
    assert problem.file.endswith("templates/first_touch_email.j2")
    assert problem.line is not None and problem.line > 1
    assert "template syntax" in problem.message


def test_a_missing_template_names_the_step_that_uses_it(tmp_path: Path) -> None:
    from firsttouch.errors import WorkspaceError
    from firsttouch.workspace import load_workspace

    folder = _copy_example(tmp_path)
    main = folder / "firsttouch.yaml"
    main.write_text(
        main.read_text().replace("template: nurture_2", "template: nurture_22")
    )

    with pytest.raises(WorkspaceError) as caught:
        load_workspace(folder)
    problem = caught.value.problems[0]
    assert problem.field.startswith("sequences[")
    assert "nurture_22" in problem.message
    assert problem.line is not None
    assert "template: nurture_22" in main.read_text().splitlines()[problem.line - 1]


def test_a_misspelt_key_is_named_in_plain_words(tmp_path: Path) -> None:
    from firsttouch.errors import WorkspaceError
    from firsttouch.workspace import load_workspace

    folder = _copy_example(tmp_path)
    main = folder / "firsttouch.yaml"
    main.write_text(main.read_text().replace("capacity: 40", "capacty: 40", 1))

    with pytest.raises(WorkspaceError) as caught:
        load_workspace(folder)
    problem = caught.value.problems[0]
    assert problem.field == "team.reps[0].capacty"
    assert problem.message == "unknown key 'capacty'; check its spelling, or remove it"
    assert "capacty" in main.read_text().splitlines()[problem.line - 1]


@pytest.mark.parametrize(
    ("old", "new", "field", "allowed"),
    [
        ("routes: [rep_now]", "routes: [fast_trak]", "routes", "fast_track"),
        ("channels: [sms]", "channels: [cal]", "channels", "web_form"),
        ("routes: [nurture]", "routes: [nurtur]", "routes", "nurture"),
        (
            "actions: [sms_reply]",
            "actions: [sms_reply]\n      templates: {sms_replies: x}",
            "templates",
            "sms_reply",
        ),
    ],
)
def test_a_name_no_lead_can_have_is_refused_with_the_allowed_names(
    tmp_path: Path, old: str, new: str, field: str, allowed: str
) -> None:
    # A misspelt route or channel loads fine and then never matches a lead.
    path = _broken(tmp_path, old, new)

    with pytest.raises(WorkspaceError) as caught:
        load_workspace(path)

    problem = caught.value.problems[0]
    assert problem.field.endswith(f".{field}")
    assert "unknown" in problem.message
    assert allowed in problem.message
    assert problem.line == _line_of(path, new.split("\n")[-1].strip())


def test_a_form_field_mapped_to_no_known_fact_is_refused(tmp_path: Path) -> None:
    # It would be kept under its own name and leave the fact empty.
    path = _broken(tmp_path, "fname: first_name", "fname: frist_name")

    with pytest.raises(WorkspaceError) as caught:
        load_workspace(path)

    problem = caught.value.problems[0]
    assert problem.field.endswith(".field_map")
    assert "frist_name" in problem.message and "first_name" in problem.message
    assert problem.line is not None
    assert "field_map" in path.read_text().splitlines()[problem.line - 1]
