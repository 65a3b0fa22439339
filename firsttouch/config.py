"""Process settings, read once from ``FIRSTTOUCH_*`` variables at start-up.

Nothing below this module reads ``os.environ``: the settings object is built
by an entry point and passed down. Business knowledge (team, ICP, sequences)
lives in the workspace file, not here.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from firsttouch.errors import ConfigError

DEFAULT_DB_PATH = Path("var/firsttouch.db")


class Secret:
    """A string that never shows itself in a repr, a log line or a traceback."""

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know that is not business knowledge."""

    database_url: str = f"sqlite:///{DEFAULT_DB_PATH}"
    workspace_path: Path = Path("examples/workspace")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    log_format: str = "console"
    log_level: str = "INFO"
    secret_key: Secret = field(default_factory=lambda: Secret("dev-insecure-key"))
    max_body_bytes: int = 1_000_000
    # Inbound mail posts carry their attachments: a quote request with a PDF
    # is routinely several MB, and a 413 there loses the lead.
    max_mail_body_bytes: int = 30_000_000
    raw_payload_cap: int = 256_000
    outbox_dir: Path = Path("var/outbox")
    worker_id: str = ""
    job_lease_seconds: float = 60.0
    job_max_attempts: int = 8
    job_poll_seconds: float = 0.2
    # Shared by the web processes of one machine (see web.rate_limits);
    # ``serve --web-processes N`` makes one for its processes when unset.
    rate_limit_file: Path | None = None
    # SQLite: a group of at most this many accepted events is ingested in
    # the accepting transaction (0: always leave them to capture.ingest jobs).
    accept_ingest_up_to: int = 8
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def with_overrides(self, **changes: object) -> Settings:
        """Return a copy with some fields replaced (tests and the CLI use it)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def link(self, path: str) -> str:
        """The public address of ``path`` on this installation."""
        return f"{self.public_url.rstrip('/')}/{path.lstrip('/')}"

    def secret(self, name: str) -> Secret:
        """Return the secret named by a workspace ``${NAME}`` reference."""
        value = self.env.get(name)
        if value is None:
            raise ConfigError(
                f"the workspace refers to ${{{name}}} but it is not set; "
                f"export {name}=... before starting firsttouch"
            )
        return Secret(value)


# A wildcard bind is no address to open; the loopback of the same family
# reaches the same listener.
_LOOPBACK_OF = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


def local_url(host: str, port: int) -> str:
    """The address of a listener on ``host``:``port``, as a browser opens it."""
    host = _LOOPBACK_OF.get(host, host)
    # An IPv6 literal needs its brackets (RFC 3986, section 3.2.2), or its
    # colons read as the port's.
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def public_url_of(env: Mapping[str, str], host: str, port: int) -> str:
    """FIRSTTOUCH_PUBLIC_URL when set, else the address served on."""
    given = env.get("FIRSTTOUCH_PUBLIC_URL", "").strip().rstrip("/")
    return given or local_url(host, port)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


# Where the key made for this installation is kept when FIRSTTOUCH_SECRET_KEY
# is not set: beside the embedded database, never in the workspace.
DEFAULT_SECRET_KEY_FILE = Path("var/secret-key")


def _local_secret(env: Mapping[str, str]) -> str:
    """This installation's own signing key, made once and kept in a file.

    Booking, unsubscribe and claim links and dashboard sessions are signed
    with it: a fixed built-in key would let anyone forge them, and a key
    made per process would break every link at a restart and every session
    across ``serve --web-processes``. Every process reads the same file.
    """
    path = Path(env.get("FIRSTTOUCH_SECRET_KEY_FILE", DEFAULT_SECRET_KEY_FILE))
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    try:
        # A link appears whole or not at all: when two processes start
        # together, one key wins and both read that one.
        os.link(draft, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        draft.unlink()
    return key


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``FIRSTTOUCH_*`` variables, with defaults."""
    env = dict(os.environ if env is None else env)
    defaults = Settings()

    log_format = env.get("FIRSTTOUCH_LOG_FORMAT", defaults.log_format)
    if log_format not in ("console", "json"):
        raise ConfigError(
            f"FIRSTTOUCH_LOG_FORMAT must be 'console' or 'json', got {log_format!r}"
        )

    port = _int(env, "FIRSTTOUCH_PORT", defaults.port)
    host = env.get("FIRSTTOUCH_HOST", defaults.host)
    return Settings(
        database_url=env.get("FIRSTTOUCH_DATABASE_URL", defaults.database_url),
        workspace_path=Path(env.get("FIRSTTOUCH_WORKSPACE", defaults.workspace_path)),
        host=host,
        port=port,
        public_url=public_url_of(env, host, port),
        log_format=log_format,
        log_level=env.get("FIRSTTOUCH_LOG_LEVEL", defaults.log_level).upper(),
        secret_key=Secret(env.get("FIRSTTOUCH_SECRET_KEY") or _local_secret(env)),
        max_body_bytes=_int(env, "FIRSTTOUCH_MAX_BODY_BYTES", defaults.max_body_bytes),
        max_mail_body_bytes=_int(
            env, "FIRSTTOUCH_MAX_MAIL_BODY_BYTES", defaults.max_mail_body_bytes
        ),
        raw_payload_cap=_int(
            env, "FIRSTTOUCH_RAW_PAYLOAD_CAP", defaults.raw_payload_cap
        ),
        outbox_dir=Path(env.get("FIRSTTOUCH_OUTBOX_DIR", defaults.outbox_dir)),
        worker_id=env.get("FIRSTTOUCH_WORKER_ID", ""),
        job_lease_seconds=_float(
            env, "FIRSTTOUCH_JOB_LEASE_SECONDS", defaults.job_lease_seconds
        ),
        job_max_attempts=_int(
            env, "FIRSTTOUCH_JOB_MAX_ATTEMPTS", defaults.job_max_attempts
        ),
        job_poll_seconds=_float(
            env, "FIRSTTOUCH_JOB_POLL_SECONDS", defaults.job_poll_seconds
        ),
        accept_ingest_up_to=_int(
            env, "FIRSTTOUCH_ACCEPT_INGEST_UP_TO", defaults.accept_ingest_up_to
        ),
        rate_limit_file=(
            Path(env["FIRSTTOUCH_RATE_LIMIT_FILE"])
            if env.get("FIRSTTOUCH_RATE_LIMIT_FILE")
            else None
        ),
        env=env,
    )
