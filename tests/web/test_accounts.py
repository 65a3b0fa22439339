"""Accounts: argon2 hashes, lock-out, session cookies and the login form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from firsttouch.errors import InputError
from firsttouch.store.models import User
from firsttouch.web import accounts
from tests.web.dashboard_data import (
    PASSWORD,
    cheap_hashing,  # noqa: F401, E402 - fixture
    csrf_of,
    log_in,
    make_users,
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")

REPS = ("maya", "luis", "dana")


def test_password_is_stored_only_as_an_argon2_hash(db, clock) -> None:  # type: ignore[no-untyped-def]
    accounts.create_user(
        db, "Rep@Example.test", PASSWORD, rep_id="maya", reps=REPS, clock=clock
    )
    with db.sessions() as session:
        user = session.scalars(select(User)).one()
    assert user.email == "rep@example.test"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert accounts.authenticate(db, "REP@example.test", PASSWORD, clock).id == user.id


@pytest.mark.parametrize(
    "email, password, role, field",
    [
        ("not-an-email", PASSWORD, "rep", "email"),
        ("a@example.test", "short", "rep", "password"),
        ("a@example.test", PASSWORD, "owner", "role"),
    ],
)
def test_bad_user_input_names_the_field(
    db,
    clock,
    email,
    password,
    role,  # type: ignore[no-untyped-def]
    field,
) -> None:
    with pytest.raises(InputError) as caught:
        accounts.create_user(
            db, email, password, role=role, rep_id="maya", reps=REPS, clock=clock
        )
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("role", "rep_id", "says"),
    [
        ("rep", None, "a rep login needs the workspace rep it is"),
        ("manager", None, "a manager login needs the workspace rep it is"),
        ("rep", "nobody", "the workspace has no rep 'nobody'"),
        ("admin", "nobody", "the workspace has no rep 'nobody'"),
    ],
)
def test_a_login_for_no_rep_of_the_workspace_is_refused_with_its_reps(
    db,  # type: ignore[no-untyped-def]
    clock,
    role: str,
    rep_id: str | None,
    says: str,
) -> None:
    # Such a login would see no lead at all: refused, listing the rep ids.
    with pytest.raises(InputError) as caught:
        accounts.create_user(
            db,
            "a@example.test",
            PASSWORD,
            role=role,
            rep_id=rep_id,
            reps=REPS,
            clock=clock,
        )

    assert caught.value.field == "rep_id"
    assert says in str(caught.value)
    assert "dana, luis, maya" in str(caught.value)
    assert accounts.count_users(db) == 0


def test_a_second_user_with_the_same_email_is_refused(db, clock) -> None:  # type: ignore[no-untyped-def]
    accounts.create_user(
        db, "a@example.test", PASSWORD, role="admin", reps=REPS, clock=clock
    )
    with pytest.raises(InputError, match="already exists"):
        accounts.create_user(
            db, "A@example.test", PASSWORD, role="admin", reps=REPS, clock=clock
        )


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    db, clock
) -> None:  # type: ignore[no-untyped-def]
    accounts.create_user(
        db, "a@example.test", PASSWORD, role="admin", reps=REPS, clock=clock
    )
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        with pytest.raises(accounts.LoginRefusedError):
            accounts.authenticate(db, "a@example.test", "wrong password", clock)
    with pytest.raises(accounts.AccountLockedError):
        accounts.authenticate(db, "a@example.test", "wrong password", clock)
    with pytest.raises(accounts.AccountLockedError):
        accounts.authenticate(db, "a@example.test", PASSWORD, clock)

    clock.advance(timedelta(minutes=accounts.LOCK_MINUTES, seconds=1))
    assert accounts.authenticate(db, "a@example.test", PASSWORD, clock)


def test_unknown_email_is_refused_like_a_wrong_password(db, clock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(accounts.LoginRefusedError, match="do not match"):
        accounts.authenticate(db, "nobody@example.test", PASSWORD, clock)


def test_login_sets_a_signed_httponly_cookie_and_logout_ends_it(
    client, runtime
) -> None:  # type: ignore[no-untyped-def]
    make_users(runtime.db, runtime.clock)
    answer = log_in(client, "maya")
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "ft_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert client.get("/").status_code == 200

    tampered = client.cookies.get("ft_session")[:-4] + "AAAA"
    client.cookies.set("ft_session", tampered)
    assert client.get("/", follow_redirects=False).status_code == 303

    client.cookies.clear()
    log_in(client, "maya")
    token = csrf_of(client.get("/").text)
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_is_shown_and_lockout_answers_429(client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_users(runtime.db, runtime.clock)
    answers = [
        log_in(client, "maya", "nope nope nope")
        for _ in range(accounts.MAX_FAILED_LOGINS)
    ]
    assert [a.status_code for a in answers[:-1]] == [401] * 4
    assert "do not match" in answers[0].text
    assert answers[-1].status_code == 429
    assert "locked" in answers[-1].text
    assert log_in(client, "maya").status_code == 429


def test_login_without_csrf_token_is_refused(client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_users(runtime.db, runtime.clock)
    answer = client.post(
        "/login", data={"email": "maya@example.test", "password": PASSWORD}
    )
    assert answer.status_code == 403


def test_changing_a_password_ends_existing_sessions(client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_users(runtime.db, runtime.clock)
    log_in(client, "maya")
    assert client.get("/").status_code == 200
    with runtime.db.transaction() as session:
        user = session.scalars(select(User).where(User.rep_id == "maya")).one()
        user.password_hash = accounts.hash_password("a brand new password")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_only_redirects_within_the_site(client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_users(runtime.db, runtime.clock)
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "email": "maya@example.test",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_cookie_is_secure_when_served_over_https(runtime) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from firsttouch.web import create_app

    runtime.settings = runtime.settings.with_overrides(
        public_url="https://leads.example.test"
    )
    with TestClient(create_app(runtime)) as client:
        assert "Secure" in client.get("/login").headers["set-cookie"]


def test_user_create_command_makes_a_user_who_can_log_in(tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from firsttouch.cli import app
    from firsttouch.logs import configure_logging
    from firsttouch.store import migrate
    from firsttouch.store.db import Database

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "user",
            "create",
            "Dana@Example.test",
            "--role",
            "manager",
            "--rep-id",
            "dana",
            "--database-url",
            url,
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert made.exit_code == 0, made.output
    assert "created manager Dana@Example.test" in made.output
    again = runner.invoke(
        app,
        [
            "user",
            "create",
            "dana@example.test",
            "--role",
            "admin",
            "--database-url",
            url,
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert again.exit_code == 1 and "already exists" in again.output

    # The command pointed logging at the runner's captured output, now closed.
    configure_logging("console", "WARNING")
    db = Database(url)
    user = accounts.authenticate(db, "dana@example.test", PASSWORD, clock)
    assert (user.role, user.rep_id) == ("manager", "dana")
    db.dispose()


def test_first_admin_comes_from_the_environment_once(db, clock) -> None:  # type: ignore[no-untyped-def]
    hint = accounts.ensure_first_admin(db, {}, clock)
    assert "firsttouch user create" in hint
    env = {"FIRSTTOUCH_ADMIN_PASSWORD": PASSWORD}
    assert "created the first admin admin@localhost" in accounts.ensure_first_admin(
        db, env, clock
    )
    assert accounts.authenticate(db, "admin@localhost", PASSWORD, clock).role == "admin"
    assert "log in" in accounts.ensure_first_admin(db, env, clock)
    assert accounts.count_users(db) == 1


def test_a_cookie_signed_with_the_public_dev_key_is_not_accepted(
    client, runtime
) -> None:  # type: ignore[no-untyped-def]
    from itsdangerous import URLSafeTimedSerializer

    from firsttouch.web.sessions import DEV_SECRET, password_fingerprint

    make_users(runtime.db, runtime.clock)
    with runtime.db.sessions() as session:
        admin = session.scalars(select(User).where(User.role == "admin")).one()
    forged = URLSafeTimedSerializer(DEV_SECRET, salt="firsttouch.dashboard.session")
    client.cookies.set(
        "ft_session",
        forged.dumps(
            {"n": "x", "u": admin.id, "p": password_fingerprint(admin.password_hash)}
        ),
    )
    assert client.get("/", follow_redirects=False).status_code == 303
