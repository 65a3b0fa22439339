"""The channels an inbound arrives on; respond policies name them."""

from __future__ import annotations

from typing import Literal, get_args

Channel = Literal[
    "web_form",
    "email",
    "sms",
    "call",
    "chat",
    "lead_ad",
    "meeting",
    "referral",
    "api",
    "import",
]

CHANNELS: tuple[str, ...] = get_args(Channel)
