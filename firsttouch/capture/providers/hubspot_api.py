"""Read new contacts' properties from HubSpot's CRM API.

``POST {base}/crm/v3/objects/contacts/batch/read`` with ``{"properties":
[...], "inputs": [{"id": ...}]}`` and the private app's token as a Bearer
(https://developers.hubspot.com/docs/api/crm/contacts) answers ``{"results":
[{"id", "properties": {...}}]}``, with status 207 when some ids are gone.
It is only asked when ``HUBSPOT_ACCESS_TOKEN`` is set; the base is
``HUBSPOT_API_URL`` (tests point it at a loopback server). Every failure
becomes a ``HubSpotApiError`` whose ``retryable`` says whether asking again
later can help.
"""

from __future__ import annotations

from typing import Any

import httpx

from firsttouch.capture.providers.hubspot import CONTACT_PROPERTIES
from firsttouch.config import Secret
from firsttouch.errors import FirsttouchError

# What is asked for beyond the person facts: the buyer's words and campaign.
EXTRA_PROPERTIES = ("message", "utm_source", "utm_medium", "utm_campaign")
# HubSpot's limit of ids in one batch read.
BATCH_SIZE = 100


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

    def fetch_contacts(self, contact_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The records of these contacts by id; an id HubSpot lacks is absent.

        One batch read per hundred ids, so a webhook batch of new contacts
        costs one call, well inside HubSpot's webhook timeout.
        """
        names = [*CONTACT_PROPERTIES, *EXTRA_PROPERTIES]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(contact_ids), BATCH_SIZE):
            chunk = contact_ids[start : start + BATCH_SIZE]
            body = self._post(
                "/crm/v3/objects/contacts/batch/read",
                {"properties": names, "inputs": [{"id": i} for i in chunk]},
            )
            for record in body.get("results") or []:
                if isinstance(record, dict) and record.get("id") is not None:
                    found[str(record["id"])] = record
        return found

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._http.post(self._base + path, json=payload)
        except httpx.HTTPError as exc:
            raise HubSpotApiError(
                f"HubSpot API unreachable at {self._base}: {type(exc).__name__}",
                retryable=True,
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        # 207: some ids were not found; the others are in "results".
        if response.status_code in (200, 207) and isinstance(body, dict):
            return body
        status = response.status_code
        message = body.get("message") if isinstance(body, dict) else None
        raise HubSpotApiError(
            f"HubSpot API answered {status} for {path}: {message or 'no message'}",
            retryable=status == 429 or status >= 500,
        )
