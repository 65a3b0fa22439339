"""How many SMS segments a text costs, and in which encoding it travels.

GSM 03.38 (3GPP TS 23.038) packs 7-bit characters: 160 in a single message,
153 per part once a User Data Header for concatenation takes 6 octets.
Characters of the extension table cost two septets (an escape and the
character), and an escape pair is never split across parts. Any character
outside both tables forces UCS-2 for the whole message: 70 UTF-16 code units
alone, 67 per part, and a surrogate pair is never split either.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67


@dataclass(frozen=True)
class SmsSize:
    """A text's encoding, its length in that encoding's units and its parts."""

    encoding: str
    units: int
    segments: int
    offending: str = ""


def _pack(costs: list[int], single: int, part: int) -> int:
    total = sum(costs)
    if total == 0:
        return 1
    if total <= single:
        return 1

    # Fill parts greedily; a unit group (escape pair, surrogate pair) that
    # does not fit in what is left of a part starts the next one.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments += 1
            used = 0
        used += cost
    return segments


def measure_sms(text: str) -> SmsSize:
    """Return the encoding and segment count a provider will bill for ``text``."""
    offending = "".join(
        sorted({c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION})
    )
    if not offending:
        costs = [2 if c in GSM7_EXTENSION else 1 for c in text]
        return SmsSize("GSM-7", sum(costs), _pack(costs, GSM7_SINGLE, GSM7_PART))

    costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return SmsSize("UCS-2", sum(costs), _pack(costs, UCS2_SINGLE, UCS2_PART), offending)
