"""The corpus parsers of the form, CRM, chat and automation webhooks.

Imported by ``capture_webhooks.py`` (and so by ``capture_all.py``); kept in
its own module so each provider family's parsers stay in one place. Most of
these corpus files are captured requests: the body the sender posted sits
under ``request_body`` or ``body``, beside the headers it came with. Each
parser hands the adapter that body, re-encoded as the sender sent it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers import (
    close_crm,
    formsort,
    generic_lead,
    hubspot,
    meta_chat,
    olark,
    typeform,
)

Parser = Callable[[Path], list[InboundEvent]]


def _request(path: Path) -> tuple[bytes, dict[str, str]]:
    """The body the sender posted and its headers (lower-cased names).

    A file that is not JSON is the body itself: the parser says what is wrong.
    """
    try:
        data: Any = json.loads(path.read_bytes())
    except ValueError:
        return path.read_bytes(), {}
    if isinstance(data, dict):
        for name in ("request_body", "body"):
            if name in data:
                headers = data.get("headers") or {}
                lowered = {str(k).lower(): str(v) for k, v in headers.items()}
                return json.dumps(data[name]).encode(), lowered
    return path.read_bytes(), {}


def _typeform(path: Path) -> list[InboundEvent]:
    body = path.read_bytes()
    if "items" in json.loads(body):  # a Responses API page
        return typeform.parse_typeform_responses(body)
    return [typeform.parse_typeform(body)]


def _generic(path: Path) -> list[InboundEvent]:
    body, headers = _request(path)
    return [generic_lead.parse_generic_lead(body, user_agent=headers.get("user-agent"))]


def _olark(path: Path) -> list[InboundEvent]:
    body, headers = _request(path)
    return [olark.parse_olark(body, headers.get("content-type"))]


APP_PARSERS: dict[str, Parser] = {
    "typeform": _typeform,
    "formsort": lambda p: [formsort.parse_formsort(_request(p)[0])],
    "hubspot": lambda p: hubspot.parse_hubspot(_request(p)[0]),
    "close_crm": lambda p: [close_crm.parse_close(_request(p)[0])],
    "zapier": _generic,
    "generic_json": _generic,
    "olark": _olark,
    "meta_chat": lambda p: meta_chat.parse_meta_chat(p.read_bytes()),
}

# The channel every event of a provider must land in.
APP_CHANNELS: dict[str, set[str]] = {
    "typeform": {"web_form"},
    "formsort": {"web_form"},
    # A new contact's source decides: a HubSpot form, an import, or the CRM.
    "hubspot": {"web_form", "import", "api"},
    "close_crm": {"api"},
    "zapier": {"api"},
    "generic_json": {"api"},
    "olark": {"chat"},
    "meta_chat": {"chat"},
}
