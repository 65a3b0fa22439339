"""Place calls through Twilio's Calls resource (``POST .../Calls.json``).

The call rings ``To`` from ``From``; when it is answered Twilio fetches the
TwiML at ``Url`` (POST) and follows it. ``StatusCallback`` hears how the
call ended (completed, busy, no-answer, failed, canceled).

``lookup`` asks Twilio for the latest calls to the same number and matches the
TwiML URL, which is unique per attempt, so a worker that died after the API
call and before the ledger commit does not ring the rep twice.
"""

from __future__ import annotations

from firsttouch.channels.messages import CallRequest, Result
from firsttouch.channels.twilio.client import TwilioClient


class TwilioVoice:
    """Outbound calls from one caller ID."""

    name = "twilio"

    def __init__(self, client: TwilioClient, *, from_number: str):
        if not from_number:
            raise ValueError("twilio voice needs a from number (channels.twilio)")
        self.client = client
        self.from_number = from_number

    def call(self, request: CallRequest) -> Result:
        """Create the call; return its sid and status."""
        data = {
            "To": request.to,
            "From": self.from_number,
            "Url": request.twiml_url,
            "Method": "POST",
            "Timeout": str(request.timeout_seconds),
        }
        if request.status_callback:
            data["StatusCallback"] = request.status_callback
            data["StatusCallbackMethod"] = "POST"
        body = self.client.request("POST", "/Calls.json", data=data)
        return {
            "sid": body["sid"],
            "status": body.get("status", "queued"),
            "from": body.get("from", self.from_number),
            "provider": "twilio",
        }

    def lookup(self, request: CallRequest) -> Result | None:
        """Find an earlier call made for ``request``, by number and TwiML URL."""
        # Twilio lists the newest calls first; the retry comes minutes later.
        params = {"To": request.to, "PageSize": "50"}
        body = self.client.request("GET", "/Calls.json", params=params)
        for item in body.get("calls", []):
            if item.get("url") == request.twiml_url:
                return {
                    "sid": item["sid"],
                    "status": item.get("status", "queued"),
                    "provider": "twilio",
                    "found_by_lookup": True,
                }
        return None
