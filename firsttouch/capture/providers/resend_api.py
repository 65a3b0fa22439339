"""Read a received email's content from Resend's Receiving API.

Resend's ``email.received`` webhook carries metadata only (sender,
recipients, subject, Message-ID, attachment names); the bodies and headers
come from ``GET /emails/receiving/{email_id}``, authorised with an API key
(https://resend.com/docs/api-reference/emails/retrieve-received-email).
Every failure becomes a ``ResendApiError`` whose ``retryable`` says if
later may work.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from firsttouch.config import Secret
from firsttouch.errors import FirsttouchError

DEFAULT_API_URL = "https://api.resend.com"


class ResendApiError(FirsttouchError):
    """Resend did not give the email; ``retryable`` says if later may work."""

    code = "resend_api_failed"
    status = 503

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class ResendReceivingClient:
    """A small synchronous client for the one Receiving API read."""

    def __init__(self, base_url: str, api_key: Secret, *, timeout: float = 10.0):
        self._base = base_url.rstrip("/")
        self._http = httpx.Client(
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key.reveal()}"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ResendReceivingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch_email(self, email_id: str) -> dict[str, Any]:
        """The received email: ``html``, ``text``, ``headers`` and the rest."""
        url = f"{self._base}/emails/receiving/{quote(email_id, safe='')}"
        try:
            response = self._http.get(url)
        except httpx.HTTPError as exc:
            raise ResendApiError(
                f"Resend could not be reached: {type(exc).__name__}", retryable=True
            ) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise ResendApiError(
                f"Resend answered {response.status_code}; will ask again",
                retryable=True,
            )
        if response.status_code != 200:
            raise ResendApiError(
                f"Resend refused the read of email {email_id} with "
                f"{response.status_code}; check RESEND_API_KEY (it needs "
                "receiving access)",
                retryable=False,
            )
        try:
            content = response.json()
        except ValueError as exc:
            raise ResendApiError(
                "Resend answered with no JSON", retryable=True
            ) from exc
        if not isinstance(content, dict):
            raise ResendApiError("Resend answered with no email object", retryable=True)
        return content
