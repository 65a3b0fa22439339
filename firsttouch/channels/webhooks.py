"""Post JSON to chat webhooks (Slack, Microsoft Teams, any JSON endpoint).

Errors convert here, once, into ``DeliveryError``: a 429 is waited out
briefly when ``Retry-After`` is short, then left to the job's retry; a 5xx
or a network failure is worth retrying; any other 4xx is permanent (Slack
answers ``invalid_payload``, ``no_service``, ``channel_is_archived`` and
the like as plain text). Teams' connector webhooks answer ``1`` on success
and, when the card was refused upstream, can answer 200 with an error text.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from firsttouch.channels.messages import Result
from firsttouch.errors import DeliveryError

MAX_RETRY_AFTER = 5.0


class WebhookPoster:
    """Posts JSON to Slack, Teams and plain webhooks, converting their errors."""

    def __init__(self, http: httpx.Client | None = None, *, retries: int = 1):
        self.http = http or httpx.Client(timeout=10.0)
        self.retries = retries

    def post(self, kind: str, url: str, body: dict[str, Any]) -> Result:
        """Post once (plus a short wait on 429); raise ``DeliveryError``."""
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            try:
                response = self.http.post(url, json=body)
            except httpx.HTTPError as exc:
                raise DeliveryError(
                    f"{kind} webhook unreachable: {exc}", permanent=False
                ) from exc

            if response.status_code == 429:
                wait = _retry_after(response)
                if attempt < self.retries and wait <= MAX_RETRY_AFTER:
                    time.sleep(wait)
                    continue
            _raise_for(kind, response)
            return {
                "provider": kind,
                "status": response.status_code,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            }
        raise DeliveryError(
            f"{kind} webhook kept answering 429", permanent=False, provider_code="429"
        )

    def close(self) -> None:
        self.http.close()


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def _raise_for(kind: str, response: httpx.Response) -> None:
    text = response.text.strip()[:200]
    if response.status_code < 300:
        # Teams' connector webhooks answer 200 with "1" on success, but can
        # answer 200 with an error text when the card was refused upstream.
        if kind == "teams" and text not in ("", "1") and "error" in text.lower():
            retry = "429" in text
            raise DeliveryError(
                f"teams refused the card: {text}",
                permanent=not retry,
                provider_code="429" if retry else "teams_error",
            )
        return
    # Slack answers errors as plain text codes: invalid_payload, no_service,
    # channel_is_archived, action_prohibited (Slack incoming webhooks docs).
    permanent = response.status_code < 500 and response.status_code != 429
    raise DeliveryError(
        f"{kind} webhook answered {response.status_code}: {text}",
        permanent=permanent,
        provider_code=str(response.status_code),
    )
