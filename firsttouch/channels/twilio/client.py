"""One HTTP client for Twilio's REST API and one place its errors convert.

Twilio answers errors as JSON ``{"code", "message", "status"}``. A 429 or a
5xx is worth retrying (honouring ``Retry-After``); a 4xx with a code is not:
the request itself is wrong (an invalid or unsubscribed number, a blocked
destination), as described in Twilio's error dictionary.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from firsttouch.config import Secret
from firsttouch.errors import DeliveryError

API_VERSION = "2010-04-01"
# Twilio error codes that a retry may clear (queue overflow, rate limits).
RETRYABLE_CODES = frozenset({"20429", "30001", "14107"})
MAX_RETRY_AFTER = 5.0


class TwilioClient:
    """Basic-auth, form-encoded calls to ``{base_url}/2010-04-01/Accounts/{sid}``."""

    def __init__(
        self,
        base_url: str,
        account_sid: str,
        auth_token: Secret,
        *,
        timeout: float = 15.0,
        retries: int = 2,
    ):
        self.account_sid = account_sid
        self.retries = retries
        self.http = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}",
            auth=(account_sid, auth_token.reveal()),
            timeout=timeout,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        data: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Make one API call, retrying 429 and 5xx briefly; return the JSON body."""
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, path, data=data, params=params)
            except httpx.HTTPError as exc:
                if attempt < self.retries:
                    continue
                raise DeliveryError(
                    f"twilio unreachable: {exc}", permanent=False
                ) from exc

            if response.status_code < 400:
                body: dict[str, Any] = response.json()
                return body

            retryable = response.status_code == 429 or response.status_code >= 500
            wait = _retry_after(response)
            if retryable and attempt < self.retries and wait <= MAX_RETRY_AFTER:
                time.sleep(wait)
                continue
            raise _delivery_error(response, retryable)
        raise DeliveryError("twilio retries exhausted", permanent=False)

    def close(self) -> None:
        self.http.close()


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def _delivery_error(response: httpx.Response, retryable: bool) -> DeliveryError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = str(body.get("code") or response.status_code)
    message = body.get("message") or response.reason_phrase
    permanent = not retryable and code not in RETRYABLE_CODES
    return DeliveryError(
        f"twilio {response.status_code} {code}: {message}",
        permanent=permanent,
        provider_code=code,
    )
