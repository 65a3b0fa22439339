"""The SMS opt-out, opt-in and help keywords carriers and Twilio honour.

A keyword counts only when it is the whole message (one word, any case,
surrounding spaces and punctuation ignored): "STOP" opts out, "stop please"
does not, as Twilio's and Braze's keyword docs describe. The list is ours,
compiled from Twilio's Advanced Opt-Out defaults, AWS End User Messaging and
Telnyx's keyword docs.
"""

from __future__ import annotations

from typing import Literal

KeywordKind = Literal["opt_out", "opt_in", "help"]

OPT_OUT = frozenset(
    {
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "OPT-OUT",
        "REMOVE",
        "ARRET",
        "TD",
    }
)
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})

# Telnyx documents the two-word "STOP ALL"; it is the one multi-word keyword.
_PHRASES = {"STOP ALL": "opt_out"}


def sms_keyword(body: str | None) -> tuple[str, KeywordKind] | None:
    """Return ``(KEYWORD, kind)`` if the whole message is a keyword, else None."""
    if not body:
        return None
    text = " ".join(body.split()).strip(" .!").upper()
    if text in _PHRASES:
        return text, "opt_out"
    if " " in text:
        return None
    if text in OPT_OUT:
        return text, "opt_out"
    if text in OPT_IN:
        return text, "opt_in"
    if text in HELP:
        return text, "help"
    return None
