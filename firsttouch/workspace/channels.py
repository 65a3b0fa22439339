"""The channels section: how firsttouch sends (SMTP, Twilio, alerts, outbox).

Secrets appear only as ``${ENV_VAR}`` references; a literal secret in the
file is an error, so the workspace can live in version control.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from firsttouch.workspace.team import Strict

SECRET_REF = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*\}$")


def secret_ref(value: str | None) -> str | None:
    if value is None or SECRET_REF.match(value):
        return value
    raise ValueError(
        "secrets must be environment references such as ${SMTP_PASSWORD}, "
        "never the secret itself"
    )


def ref_name(value: str) -> str:
    """Return ``NAME`` from a ``${NAME}`` reference."""
    return value[2:-1]


class SmtpChannel(Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: str = Field(default="starttls", pattern=r"^(starttls|tls|none)$")
    username: str | None = None
    password: str | None = None
    from_address: str
    from_name: str | None = None
    dkim_selector: str | None = None
    dkim_private_key: str | None = None
    per_minute: int = Field(default=60, ge=1)
    per_day: int = Field(default=2000, ge=1)

    _secret = field_validator("password", "dkim_private_key")(secret_ref)


class TwilioChannel(Strict):
    account_sid: str
    auth_token: str
    base_url: str = "https://api.twilio.com"
    from_numbers: list[str] = Field(default_factory=list)
    messaging_service_sid: str | None = None
    segments_per_second: float = Field(default=1.0, gt=0)

    _secret = field_validator("auth_token")(secret_ref)


class Notification(Strict):
    name: str
    kind: str = Field(pattern=r"^(email|slack|teams|apprise|webhook)$")
    url: str | None = None
    to: list[str] = Field(default_factory=list)

    _secret = field_validator("url")(
        lambda v: (
            v if v is None or not v.startswith("https://hooks.") else secret_ref(v)
        )
    )


class Channels(Strict):
    outbox: bool = True
    smtp: SmtpChannel | None = None
    twilio: TwilioChannel | None = None
    notifications: list[Notification] = Field(default_factory=list)
