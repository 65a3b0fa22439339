"""Read one lead from the Graph API by its id, with the Page's access token.

``GET {base}/{leadgen_id}?fields=...&access_token=...`` answers the lead's
``field_data`` (https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving).
Graph reports failures as ``{"error": {"message", "type", "code", ...}}``;
throttling comes as HTTP 429 or as error codes 4, 17, 32, 613 and 80001+
(https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
Every failure becomes a ``GraphError`` whose ``retryable`` says whether
asking again later can help.
"""

from __future__ import annotations

from typing import Any

import httpx

from firsttouch.capture.providers.signing import hmac_hex
from firsttouch.config import Secret
from firsttouch.errors import FirsttouchError

LEAD_FIELDS = (
    "id,created_time,ad_id,ad_name,adset_id,campaign_id,campaign_name,form_id,"
    "platform,is_organic,field_data,custom_disclaimer_responses"
)
THROTTLE_CODES = frozenset(
    {
        4,
        17,
        32,
        613,
        80000,
        80001,
        80002,
        80003,
        80004,
        80005,
        80006,
        80008,
        80009,
        80014,
    }
)
TRANSIENT_CODES = frozenset({1, 2})


class GraphError(FirsttouchError):
    """The Graph API did not give the lead; ``retryable`` says if later may work."""

    code = "meta_graph_failed"
    status = 503

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        graph_code: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.graph_code = graph_code
        self.retry_after = retry_after


class GraphClient:
    """A small synchronous Graph API client for lead retrieval."""

    def __init__(
        self,
        base_url: str,
        page_token: Secret,
        *,
        app_secret: Secret | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self._base = base_url.rstrip("/")
        self._token = page_token
        self._app_secret = app_secret
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch_lead(self, leadgen_id: str) -> dict[str, Any]:
        """Return the lead record (with ``field_data``) or raise ``GraphError``."""
        params = {"fields": LEAD_FIELDS, "access_token": self._token.reveal()}
        # appsecret_proof proves the call comes from the app's server:
        # https://developers.facebook.com/docs/graph-api/securing-requests
        if self._app_secret:
            params["appsecret_proof"] = hmac_hex(
                self._app_secret, self._token.reveal().encode()
            )
        try:
            response = self._http.get(f"{self._base}/{leadgen_id}", params=params)
        except httpx.HTTPError as exc:
            raise GraphError(
                f"Graph API unreachable at {self._base}: {type(exc).__name__}",
                retryable=True,
            ) from exc
        return _lead_or_error(response, leadgen_id)


def _lead_or_error(response: httpx.Response, leadgen_id: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None

    if response.status_code == 200 and isinstance(body, dict) and "error" not in body:
        return body

    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    graph_code = error.get("code") if isinstance(error.get("code"), int) else None
    message = str(error.get("message") or f"HTTP {response.status_code}")
    retry_after = _retry_after(response)

    throttled = response.status_code == 429 or graph_code in THROTTLE_CODES
    transient = response.status_code >= 500 or graph_code in TRANSIENT_CODES
    if error.get("is_transient") is True:
        transient = True
    what = "throttled" if throttled else "refused"
    raise GraphError(
        f"Graph API {what} lead {leadgen_id}: {message} "
        f"(HTTP {response.status_code}, code {graph_code})",
        retryable=throttled or transient,
        graph_code=graph_code,
        retry_after=retry_after,
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None
