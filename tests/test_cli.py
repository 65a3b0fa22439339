"""The command line: init, check, db upgrade, jobs, API keys and users."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from firsttouch.cli import EXIT_INVALID_WORKSPACE, app

runner = CliRunner()
EXAMPLE_WORKSPACE = Path(__file__).parents[1] / "examples" / "workspace"


def test_init_writes_a_workspace_that_check_accepts(tmp_path: Path) -> None:
    target = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    result = runner.invoke(app, ["check", str(target)])
    assert result.exit_code == 0, result.output
    assert "4 reps" in result.output


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 1


def test_check_reports_line_and_field(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    main = tmp_path / "firsttouch.yaml"
    main.write_text(main.read_text().replace("capacity: 40", "capacity: lots", 1))
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == EXIT_INVALID_WORKSPACE
    assert "team.reps[0].capacity" in result.output
    assert "firsttouch.yaml:" in result.output


def test_check_fails_on_a_template_every_first_touch_would_fail(
    tmp_path: Path,
) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    template = tmp_path / "templates" / "first_touch_email.j2"
    source = template.read_text()
    assert "{{ owner.name }}" in source
    template.write_text(source.replace("{{ owner.name }}", "{{ owner.nmae }}", 1))

    result = runner.invoke(app, ["check", str(tmp_path)])

    assert result.exit_code == EXIT_INVALID_WORKSPACE
    assert "ok:" not in result.output
    assert "templates/first_touch_email.j2:" in result.output
    assert "has no attribute 'nmae'" in result.output


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["worker"]])
def test_serve_and_worker_refuse_a_template_no_lead_can_be_answered_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    runner.invoke(app, ["init", str(tmp_path / "ws")])
    template = tmp_path / "ws" / "templates" / "first_touch_email.j2"
    source = template.read_text()
    template.write_text(source.replace("{{ owner.name }}", "{{ owner.nmae }}", 1))
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", url)
    monkeypatch.setenv("FIRSTTOUCH_WORKSPACE", str(tmp_path / "ws"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    result = runner.invoke(app, command)

    assert result.exit_code == EXIT_INVALID_WORKSPACE
    assert "has no attribute 'nmae'" in result.output
    assert "not starting" in result.output


@pytest.mark.parametrize("command", [["db", "upgrade"], ["worker"]])
def test_a_database_a_newer_version_upgraded_is_refused_with_what_to_do(
    tmp_path: Path, monkeypatch, command: list[str]
) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", url)
    monkeypatch.setenv("FIRSTTOUCH_WORKSPACE", str(EXAMPLE_WORKSPACE))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    with sqlite3.connect(tmp_path / "newer.db") as conn:
        conn.execute(
            "UPDATE alembic_version SET version_num = 'core_0999' "
            "WHERE version_num LIKE 'core_%'"
        )

    result = runner.invoke(app, command)

    assert result.exit_code == 1
    assert "revision core_0999, which this firsttouch does not know" in result.output
    assert "Traceback" not in result.output


def test_db_upgrade_then_apikey_lifecycle(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    created = runner.invoke(app, ["apikey", "create", "zapier"])
    assert created.exit_code == 0
    key = created.stdout.strip().splitlines()[0]
    assert key.startswith("ft_")

    listed = runner.invoke(app, ["apikey", "list"])
    prefix = key.split("_")[1]
    assert prefix in listed.stdout and "live" in listed.stdout
    assert key.split("_", 2)[2] not in listed.stdout

    assert runner.invoke(app, ["apikey", "revoke", prefix]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["apikey", "list"]).stdout

    nameless = runner.invoke(app, ["apikey", "create", "  "])
    assert nameless.exit_code != 0
    assert "needs a name" in nameless.output
    assert runner.invoke(app, ["apikey", "list"]).stdout.count("\n") == (
        listed.stdout.count("\n")
    )


def test_jobs_list_and_retry_a_dead_job(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.jobs.queue import enqueue
    from firsttouch.store.db import Database
    from firsttouch.store.models import Job

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", url)
    runner.invoke(app, ["db", "upgrade"])
    db = Database(url)
    with db.transaction() as session:
        enqueue(session, "respond.first_touch", {"inbound_id": 1})
    with db.transaction() as session:
        job = session.query(Job).one()
        job.state, job.last_error = "dead", "DeliveryError: 550 no such user"

    listed = runner.invoke(app, ["jobs", "list", "--dead"])
    assert "550 no such user" in listed.stdout
    assert runner.invoke(app, ["jobs", "retry", "1"]).exit_code == 0
    assert runner.invoke(app, ["jobs", "retry", "1"]).exit_code == 1


def test_jobs_list_of_a_state_no_job_can_be_in_names_the_states(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", f"sqlite:///{tmp_path / 'j.db'}")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    listed = runner.invoke(app, ["jobs", "list", "--state", "bogus"])

    assert listed.exit_code == 1
    assert "no job state 'bogus'; use one of queued, running, done, dead" in (
        listed.output
    )
    assert runner.invoke(app, ["jobs", "list", "--state", "dead"]).exit_code == 0
    negative = runner.invoke(app, ["jobs", "list", "--limit", "-5"])
    assert negative.exit_code == 2 and "--limit" in negative.output


def test_logging_still_works_after_a_command_ran_in_a_cli_runner(
    tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    # The runner swaps stderr and closes its copy; a log line written later
    # (by the next test, or a worker thread) must go to the stderr of now.
    runner.invoke(app, ["init", str(tmp_path / "ws")])
    from firsttouch.logs import get_logger

    get_logger("tests.cli").warning("cli.after_runner", detail="still logging")
    assert "cli.after_runner" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "login"),
    [
        ({"FIRSTTOUCH_PORT": "9123"}, "http://127.0.0.1:9123/login"),
        (
            {"FIRSTTOUCH_HOST": "::1", "FIRSTTOUCH_PORT": "9123"},
            "http://[::1]:9123/login",
        ),
        ({"FIRSTTOUCH_HOST": "0.0.0.0"}, "http://127.0.0.1:8000/login"),  # noqa: S104
        (
            {"FIRSTTOUCH_PUBLIC_URL": "https://leads.example.test/"},
            "https://leads.example.test/login",
        ),
        (
            {"FIRSTTOUCH_PUBLIC_URL": "", "FIRSTTOUCH_PORT": "9123"},
            "http://127.0.0.1:9123/login",
        ),
    ],
)
def test_user_create_names_the_login_page_where_the_server_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], login: str
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", url)
    monkeypatch.setenv("FIRSTTOUCH_SECRET_KEY", "k" * 32)
    for name in ("FIRSTTOUCH_HOST", "FIRSTTOUCH_PORT", "FIRSTTOUCH_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    made = runner.invoke(
        app,
        ["user", "create", "dana@example.test", "--role", "admin"],
        input="a long enough password\n" * 2,
    )

    assert made.exit_code == 0, made.output
    assert made.stdout.strip().endswith(f"log in at {login}")


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--role", "rep", "--rep-id", "nobody"], "no rep 'nobody'"),
        (["--role", "rep"], "a rep login needs the workspace rep it is"),
    ],
)
def test_user_create_refuses_a_rep_the_workspace_does_not_have(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], says: str
) -> None:
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", f"sqlite:///{tmp_path / 'u.db'}")
    monkeypatch.setenv("FIRSTTOUCH_SECRET_KEY", "k" * 32)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    made = runner.invoke(
        app,
        ["user", "create", "x@example.test", *flags],
        input="a long enough password\n" * 2,
    )

    assert made.exit_code == 1
    assert says in made.output
    assert "dana, hannah, luis, maya" in made.output
    assert "created" not in made.output
