"""Signed, expiring links whose age is read from the injected clock.

``itsdangerous`` stamps and checks a token's age with ``time.time()``; the
signer here asks the firsttouch clock instead, so a link made on the virtual
clock of a test or the demo also expires on it.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from firsttouch.clock import Clock
from firsttouch.config import Secret


class ClockSigner(TimestampSigner):
    """A timestamp signer that asks the injected clock, not ``time.time()``."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock.now().timestamp())


def link_serializer(secret: Secret, clock: Clock, salt: str) -> URLSafeTimedSerializer:
    """Return a serializer for one kind of link (``salt`` keeps kinds apart)."""
    return URLSafeTimedSerializer(
        secret.reveal(), salt=salt, signer=ClockSigner, signer_kwargs={"clock": clock}
    )
