"""Control characters out of what we write: header values, ICS fields, texts.

A buyer types names and subjects we later write into an email header. A
line break in one would end the header and start another of the buyer's
choosing (``Bcc: ...``); a NUL or another control character is refused by
some servers and shown as garbage by the rest. None of them can carry
meaning in a name or a subject, so every run of them, and the blanks around
it, becomes one space before the value is written, and the value is trimmed.
A send then never fails on what a buyer typed, and never carries a header
the buyer wrote.

Invisible format characters (Unicode category Cf) go too: a zero-width
space draws nothing, so a company of only that prints as a blank, and a
bidi override reorders what follows it on screen, so a name can show text
it does not hold (Unicode TR #36, section 2.1; CVE-2021-42574). The two
joiners (ZWNJ, ZWJ) shape Persian and Indic words and emoji sequences, so
they stay between two visible characters and go everywhere else.

An address is different: it is not text to show but a mailbox to reach, and
one with a control character in it is no mailbox; ``addresses.py`` refuses it.
"""

from __future__ import annotations

import re
import unicodedata

# Unicode's Cc category (C0, DEL, C1: NEL U+0085 among them) and the line and
# paragraph separators, which str.splitlines and some mail readers break on.
_CONTROL = "\x00-\x1f\x7f-\x9f\u2028\u2029"
_CONTROL_RUN = re.compile(f"[ {_CONTROL}]*[{_CONTROL}][ {_CONTROL}]*")
_HAS_CONTROL = re.compile(f"[{_CONTROL}]")


_JOINERS = "\u200c\u200d"


def _visible(char: str) -> bool:
    return not char.isspace() and unicodedata.category(char) != "Cf"


def drop_format_chars(value: str) -> str:
    """Return ``value`` without invisible format characters (Unicode Cf).

    A joiner between two visible characters is part of the word and stays.
    """
    if value.isascii():
        return value  # no Cf character is ASCII
    kept: list[str] = []
    for i, char in enumerate(value):
        joins = (
            char in _JOINERS
            and bool(kept)
            and _visible(kept[-1])
            and i + 1 < len(value)
            and _visible(value[i + 1])
        )
        if joins or unicodedata.category(char) != "Cf":
            kept.append(char)
    return "".join(kept)


def has_control(value: str) -> bool:
    """True when ``value`` holds a control character, a line break among them."""
    return _HAS_CONTROL.search(value) is not None


def header_text(value: str) -> str:
    """Return ``value`` on one line: control runs one space, format chars gone.

    ``"Bob\\r\\nBcc: x@example.com"`` becomes ``"Bob Bcc: x@example.com"``:
    still readable, and no longer a second header.
    """
    value = drop_format_chars(value)
    if not has_control(value):
        return value.strip()
    return _CONTROL_RUN.sub(" ", value).strip()


def sms_text(value: str) -> str:
    """Return a text message's body with line feeds kept, other controls folded.

    CRLF and a bare CR become a line feed; every other control character
    (tab, NUL, ...) becomes a space, so no provider refuses the body.
    """
    if not has_control(value):
        return value
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(_CONTROL_RUN.sub(" ", line).rstrip() for line in lines).strip()
