"""Notifications to the many chat tools Apprise speaks (Discord, Mattermost,
Rocket.Chat, Telegram, ntfy, Pushover, plain JSON, ...), given one URL.

Apprise reports only success or failure, with the reason in its log, so the
log is captured per send and carried in the ``DeliveryError``. A URL Apprise
cannot parse is permanent; a failed send is worth retrying, since Apprise
does not tell a refused request from an unreachable server.
"""

from __future__ import annotations

import logging
import time

from firsttouch.channels.messages import Result
from firsttouch.errors import DeliveryError


class AppriseNotifier:
    """Sends a title and a text body to one Apprise URL."""

    name = "apprise"

    def notify(self, url: str, title: str, body: str) -> Result:
        """Send once; raise ``DeliveryError`` with Apprise's own reason."""
        # Imported here: Apprise loads its plugins on import (about 0.3 s),
        # a cost only workspaces that use it should pay.
        import apprise

        sender = apprise.Apprise()
        if not sender.add(url):
            raise DeliveryError(
                "apprise cannot use that notification URL; check its scheme "
                "against the Apprise wiki",
                permanent=True,
            )

        started = time.perf_counter()
        # apprise ships LogCapture without annotations.
        capture = apprise.LogCapture(level=logging.WARNING)  # type: ignore[no-untyped-call]
        with capture as captured:
            sent = sender.notify(
                title=title, body=body, body_format=apprise.NotifyFormat.TEXT
            )
            reason = captured.getvalue().strip().splitlines()
        if not sent:
            detail = reason[-1].split(" - ", 2)[-1] if reason else "no reason given"
            raise DeliveryError(f"apprise send failed: {detail}", permanent=False)
        return {
            "provider": "apprise",
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }
