"""Settings from the environment: the signing key and the public address."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from firsttouch.config import load_settings


def test_without_a_key_one_is_made_once_and_kept_private(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "secret-key"
    env = {"FIRSTTOUCH_SECRET_KEY_FILE": str(key_file)}

    first = load_settings(env).secret_key.reveal()
    again = load_settings(env).secret_key.reveal()

    assert first == again and len(first) >= 40
    assert first != "dev-insecure-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert list(key_file.parent.iterdir()) == [key_file]  # no draft left behind


def test_a_configured_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    key_file = tmp_path / "secret-key"
    env = {
        "FIRSTTOUCH_SECRET_KEY": "from-the-environment-0123456789",
        "FIRSTTOUCH_SECRET_KEY_FILE": str(key_file),
    }
    assert load_settings(env).secret_key.reveal() == "from-the-environment-0123456789"
    assert not key_file.exists()


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "secret-key"
    probe = (
        "import sys\n"
        "from firsttouch.config import load_settings\n"
        "env = {'FIRSTTOUCH_SECRET_KEY_FILE': sys.argv[1]}\n"
        "print(load_settings(env).secret_key.reveal())\n"
    )
    starts = [
        subprocess.Popen(  # noqa: S603 - our interpreter, our probe
            [sys.executable, "-c", probe, str(key_file)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    keys = {proc.communicate(timeout=60)[0].strip() for proc in starts}

    assert keys == {key_file.read_text().strip()}


def test_a_port_given_to_serve_is_the_one_links_name() -> None:
    from firsttouch.cli import served_at

    default = load_settings({"FIRSTTOUCH_SECRET_KEY": "k" * 32})
    moved = served_at(default, None, 18431)
    assert (moved.port, moved.public_url) == (18431, "http://127.0.0.1:18431")

    behind_proxy = load_settings(
        {
            "FIRSTTOUCH_SECRET_KEY": "k" * 32,
            "FIRSTTOUCH_PUBLIC_URL": "https://leads.example.com",
        }
    )
    assert served_at(behind_proxy, "0.0.0.0", 9000).public_url == (  # noqa: S104
        "https://leads.example.com"
    )


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 9000, "http://127.0.0.1:9000"),
        ("0.0.0.0", 9000, "http://127.0.0.1:9000"),  # noqa: S104
        ("::", 9000, "http://[::1]:9000"),
        ("::1", 9000, "http://[::1]:9000"),
        ("fd00::5", 9000, "http://[fd00::5]:9000"),
        ("leads.internal", 9000, "http://leads.internal:9000"),
    ],
)
def test_links_name_an_address_a_browser_can_open_when_no_public_url_is_set(
    host: str, port: int, url: str
) -> None:
    from firsttouch.cli import served_at

    env = {"FIRSTTOUCH_SECRET_KEY": "k" * 32}
    configured = load_settings(
        {**env, "FIRSTTOUCH_HOST": host, "FIRSTTOUCH_PORT": str(port)}
    )
    flagged = served_at(load_settings(env), host, port)

    assert configured.public_url == flagged.public_url == url


def test_an_empty_or_slashed_public_url_still_makes_one_link_per_page() -> None:
    from firsttouch.cli import served_at

    env = {"FIRSTTOUCH_SECRET_KEY": "k" * 32, "FIRSTTOUCH_PORT": "9000"}
    empty = load_settings({**env, "FIRSTTOUCH_PUBLIC_URL": ""})
    slashed = load_settings({**env, "FIRSTTOUCH_PUBLIC_URL": "https://ft.example/ "})

    assert empty.link("/login") == "http://127.0.0.1:9000/login"
    assert served_at(empty, None, 9001).link("login") == "http://127.0.0.1:9001/login"
    assert slashed.link("/login") == "https://ft.example/login"


def test_serve_names_the_public_dashboard_and_the_listener_behind_it() -> None:
    from firsttouch.cli import served_at, serving_banner

    env = {"FIRSTTOUCH_SECRET_KEY": "k" * 32}
    behind_proxy = load_settings({**env, "FIRSTTOUCH_PUBLIC_URL": "https://ft.example"})
    moved = served_at(load_settings(env), "::1", 9000)

    assert serving_banner(behind_proxy).startswith(
        "firsttouch is serving: dashboard at https://ft.example/ "
        "(listening on http://127.0.0.1:8000/)"
    )
    assert "dashboard at http://[::1]:9000/  " in serving_banner(moved)
    assert "listening" not in serving_banner(moved)
