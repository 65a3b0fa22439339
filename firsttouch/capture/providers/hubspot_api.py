"""Read a new contact's properties from HubSpot's CRM API.

``GET {base}/crm/v3/objects/contacts/{id}?properties=...`` with the private
app's token as a Bearer (https://developers.hubspot.com/docs/api/crm/contacts)
answers ``{"id", "properties": {...}}``. It is only asked when
``HUBSPOT_ACCESS_TOKEN`` is set; the base is ``HUBSPOT_API_URL`` (tests
point it at a loopback server). Every failure becomes a ``HubSpotApiError``
whose ``retryable`` says whether asking again later can help.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from firsttouch.capture.providers.hubspot import CONTACT_PROPERTIES
from firsttouch.config import Secret
from firsttouch.errors import FirsttouchError

# What is asked for beyond the person facts: the buyer's words and campaign.
EXTRA_PROPERTIES = ("message", "utm_source", "utm_medium", "utm_campaign")


class HubSpotApiError(FirsttouchError):
    """HubSpot did not give the contact; ``retryable`` says if later may work."""

    code = "hubspot_api_failed"
    status = 503

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class HubSpotContactClient:
    """A small synchronous client for the one contact read."""

    def __init__(self, base_url: str, token: Secret, *, timeout: float = 10.0):
        self._base = base_url.rstrip("/")
        self._http = httpx.Client(
            timeout=timeout, headers={"Authorization": f"Bearer {token.reveal()}"}
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubSpotContactClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch_contact(self, contact_id: str) -> dict[str, Any]:
        """The contact's record with the properties capture reads."""
        names = ",".join([*CONTACT_PROPERTIES, *EXTRA_PROPERTIES])
        path = f"/crm/v3/objects/contacts/{quote(contact_id, safe='')}"
        try:
            response = self._http.get(self._base + path, params={"properties": names})
        except httpx.HTTPError as exc:
            raise HubSpotApiError(
                f"HubSpot API unreachable at {self._base}: {type(exc).__name__}",
                retryable=True,
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and isinstance(body, dict):
            return body
        status = response.status_code
        message = body.get("message") if isinstance(body, dict) else None
        raise HubSpotApiError(
            f"HubSpot API answered {status} for contact {contact_id}: "
            f"{message or 'no message'}",
            retryable=status == 429 or status >= 500,
        )
