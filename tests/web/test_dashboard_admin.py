"""Admins make and revoke API keys and add users from the dashboard."""

from __future__ import annotations

import re

import pytest

from firsttouch.web.apikeys import verify_api_key
from tests.web.dashboard_data import csrf_of, log_in, make_users

pytestmark = pytest.mark.usefixtures("cheap_hashing")
from tests.web.dashboard_data import cheap_hashing  # noqa: F401, E402 - fixture


def test_an_api_key_is_shown_once_and_can_be_revoked(client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_users(runtime.db, runtime.clock)
    log_in(client, "admin")
    page = client.get("/admin/api-keys").text
    made = client.post(
        "/admin/api-keys", data={"csrf_token": csrf_of(page), "name": "zapier"}
    ).text
    key = re.search(r'value="(ft_[^"]+)"', made).group(1)
    assert verify_api_key(runtime.db, key, runtime.clock) is not None

    listing = client.get("/admin/api-keys").text
    assert key not in listing and "zapier" in listing
    prefix = key.split("_")[1]
    client.post(
        f"/admin/api-keys/{prefix}/revoke", data={"csrf_token": csrf_of(listing)}
    )
    assert verify_api_key(runtime.db, key, runtime.clock) is None


def test_only_admins_manage_keys_and_users(client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_users(runtime.db, runtime.clock)
    log_in(client, "dana")
    token = csrf_of(client.get("/").text)
    assert client.get("/admin/api-keys").status_code == 403
    assert client.get("/admin/users").status_code == 403
    assert (
        client.post(
            "/admin/api-keys", data={"csrf_token": token, "name": "x"}
        ).status_code
        == 403
    )
    assert client.post("/admin/users", data={"csrf_token": token}).status_code == 403


def test_an_admin_adds_a_rep_who_can_then_log_in(client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_users(runtime.db, runtime.clock)
    log_in(client, "admin")
    page = client.get("/admin/users").text
    short = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(page),
            "email": "h@example.test",
            "password": "short",
        },
    )
    assert short.status_code == 400 and "10 characters" in short.text
    made = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(page),
            "email": "hannah@example.test",
            "name": "Hannah",
            "role": "rep",
            "rep_id": "hannah",
            "password": "hannah's long password",
        },
    )
    assert made.status_code == 200 and "Created hannah@example.test" in made.text

    client.cookies.clear()
    login = client.get("/login").text
    answer = client.post(
        "/login",
        data={
            "email": "hannah@example.test",
            "password": "hannah's long password",
            "csrf_token": csrf_of(login),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303


def test_an_admin_unlocks_a_locked_account(client, runtime) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.web import accounts

    make_users(runtime.db, runtime.clock)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        log_in(client, "maya", "not the password")
    assert log_in(client, "maya").status_code == 429

    client.cookies.clear()
    log_in(client, "admin")
    page = client.get("/admin/users").text
    assert "Unlock maya@example.test" in page
    user_id = re.search(r"/admin/users/(\d+)/unlock", page).group(1)
    client.post(f"/admin/users/{user_id}/unlock", data={"csrf_token": csrf_of(page)})

    client.cookies.clear()
    assert log_in(client, "maya").status_code == 303
