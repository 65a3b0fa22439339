"""Send texts through Twilio's Messages resource, paced per sender number.

A US long code carries about one segment per second; sending faster gets
messages queued or filtered by carriers. ``SenderPool`` spreads texts over
the workspace's numbers and waits for a number to be free, so a burst needs
a pool (or a Messaging Service, which pools on Twilio's side and is not
paced here). Pacing is per process.

``lookup`` asks Twilio for messages to the same number sent today and
matches the body's hash, so a worker that died after the API call and before
the ledger commit does not text the buyer twice.
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import date

from firsttouch.channels.messages import Result, SmsMessage
from firsttouch.channels.sms_segments import measure_sms
from firsttouch.channels.twilio.client import TwilioClient
from firsttouch.errors import DeliveryError


class SenderPool:
    """Hands out sender numbers no faster than ``segments_per_second`` each."""

    def __init__(
        self, numbers: list[str], segments_per_second: float, max_wait: float = 5.0
    ):
        self.numbers = list(numbers)
        self.interval = 1.0 / segments_per_second
        self.max_wait = max_wait
        self._free_at = dict.fromkeys(self.numbers, 0.0)
        self._lock = threading.Lock()

    def acquire(self, segments: int) -> str:
        """Return a number to send from, sleeping until it may send."""
        with self._lock:
            now = time.monotonic()
            number = min(self.numbers, key=lambda n: self._free_at[n])
            start = max(now, self._free_at[number])
            if start - now > self.max_wait:
                raise DeliveryError(
                    "every sender number is busy; try later", permanent=False
                )
            self._free_at[number] = start + segments * self.interval
        if start > now:
            time.sleep(start - now)
        return number


def body_hash(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


class TwilioSms:
    """Texts through ``POST .../Messages.json``."""

    name = "twilio"

    def __init__(
        self,
        client: TwilioClient,
        *,
        from_numbers: list[str],
        messaging_service_sid: str | None = None,
        segments_per_second: float = 1.0,
    ):
        if not from_numbers and not messaging_service_sid:
            raise ValueError("twilio needs from_numbers or a messaging_service_sid")
        self.client = client
        self.messaging_service_sid = messaging_service_sid
        self.pool = (
            SenderPool(from_numbers, segments_per_second) if from_numbers else None
        )

    def send(self, message: SmsMessage) -> Result:
        """Create the message; return its sid, status and segment count."""
        segments = measure_sms(message.body).segments
        data = {"To": message.to, "Body": message.body}
        if self.messaging_service_sid:
            data["MessagingServiceSid"] = self.messaging_service_sid
        else:
            assert self.pool is not None
            data["From"] = self.pool.acquire(segments)
        if message.status_callback:
            data["StatusCallback"] = message.status_callback

        body = self.client.request("POST", "/Messages.json", data=data)
        return {
            "sid": body["sid"],
            "status": body.get("status", "queued"),
            "from": body.get("from"),
            "segments": segments,
            "provider": "twilio",
        }

    def lookup(self, message: SmsMessage) -> Result | None:
        """Find an earlier send of ``message`` today, by number and body hash."""
        params = {"To": message.to, "DateSent>": date.today().isoformat()}
        body = self.client.request("GET", "/Messages.json", params=params)
        wanted = body_hash(message.body)
        for item in body.get("messages", []):
            if body_hash(item.get("body", "")) == wanted:
                return {
                    "sid": item["sid"],
                    "status": item.get("status", "sent"),
                    "from": item.get("from"),
                    "provider": "twilio",
                    "found_by_lookup": True,
                }
        return None
