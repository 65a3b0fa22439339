"""Structured logging: console in a terminal, JSON in production.

Events are dotted and past tense (``inbound.captured``); the request or job
id is bound through context variables so every line of a unit of work
carries it. Email addresses, phone numbers and bodies are never logged in
clear: use ``mask_email`` and ``mask_phone``.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_SECRET_KEYS = ("password", "token", "secret", "authorization", "api_key", "apikey")


def _mask_secrets(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if any(marker in key.lower() for marker in _SECRET_KEYS):
            event[key] = "**********"
    return event


# An address or an international number inside free text: an exception's
# message or a traceback quoting the arguments of a failed send.
_EMAIL_IN_TEXT = re.compile(r"[^\s<>\"'(),;:@]{1,64}@[\w.-]+\.\w+")
_PHONE_IN_TEXT = re.compile(r"\+\d[\d ().-]{6,18}\d")
_FREE_TEXT_KEYS = ("error", "exception", "reason")


def _mask_contact_details(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    # Tracebacks and error texts quote whatever the failing call was given;
    # a buyer's address or number must not reach the log through them.
    for key in _FREE_TEXT_KEYS:
        value = event.get(key)
        if isinstance(value, str):
            value = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group(0)), value)
            event[key] = _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), value)
    return event


class _CurrentStderr:
    """Write to whatever ``sys.stderr`` is at the moment of writing.

    Test runners and CLI runners swap ``sys.stderr`` and close their copy
    afterwards; holding the object from configuration time would send later
    log lines to a closed stream.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(fmt: str = "console", level: str = "INFO") -> None:
    """Set up structlog and the standard library logger for this process."""
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_secrets,
        # A plain traceback, rendered here so it can be masked: the console
        # renderer's own (rich, with every local variable) printed thousands
        # of lines per failed job, buyers' details among them.
        structlog.processors.format_exc_info,
        _mask_contact_details,
    ]
    if fmt == "json":
        processors.append(structlog.processors.JSONRenderer())
    else:
        processors.append(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))

    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level, logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level, stream=_CurrentStderr(), format="%(message)s")
    # basicConfig only acts once; a later call (the demo quietening the CLI's
    # default) must still set the level.
    logging.getLogger().setLevel(level)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # aiosmtpd narrates every connection at INFO; our listener logs what matters.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # Alembic narrates its set-up on every schema check; `db upgrade` says
    # what it did itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO, and some providers take
    # their token in the query string (Graph's access_token): keep request
    # lines out of the log altogether; our clients log what they did.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    """Return the structlog logger for a module."""
    return structlog.get_logger(name)


def mask_email(address: str | None) -> str:
    """Show enough of an address to recognise it, not enough to harvest it."""
    if not address or "@" not in address:
        return "-"
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(number: str | None) -> str:
    """Keep the country code and the last two digits of a phone number."""
    if not number:
        return "-"
    digits = number.strip()
    return f"{digits[:3]}***{digits[-2:]}" if len(digits) > 5 else "***"
