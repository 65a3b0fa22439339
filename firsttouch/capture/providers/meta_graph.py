"""Read leads from the Graph API with the Page's access token.

``GET {base}/{leadgen_id}?fields=...&access_token=...`` answers one lead's
``field_data``; ``GET {base}/{form_id}/leads`` lists a form's leads inside
a time window (``filtering=[{"field": "time_created", ...}]``), a page at a
time (``paging.cursors.after``); see
https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving.
Graph reports failures as ``{"error": {"message", "type", "code", ...}}``;
throttling comes as HTTP 429 or as error codes 4, 17, 32, 613 and 80001+
(https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
Every failure becomes a ``GraphError`` whose ``retryable`` says whether
asking again later can help.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
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
# The token itself was refused: expired, revoked, or without the permission
# (190 and 102 are OAuth failures, 10 and 200-299 missing permissions).
TOKEN_CODES = frozenset({10, 102, 190, *range(200, 300)})
# Leads asked for per page of a form's list.
PAGE_SIZE = 100


@dataclass(frozen=True)
class LeadPage:
    """One page of a form's leads and the cursor of the next, if any."""

    leads: list[dict[str, Any]]
    after: str | None


# Graph takes the token in the query string, and httpx logs every request's
# URL at INFO: without this, each poll would write the Page token to the log.
_TOKEN_IN_QUERY = re.compile(r"((?:access_token|appsecret_proof)=)[^&\s]+")


class _RedactGraphTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            "access_token=" in str(arg) for arg in record.args
        ):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", str(arg))
                if "access_token=" in str(arg)
                else arg
                for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_RedactGraphTokens())


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
        token_refused: bool = False,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.graph_code = graph_code
        self.retry_after = retry_after
        self.token_refused = token_refused


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
        response = self._get(f"/{leadgen_id}", {"fields": LEAD_FIELDS})
        return _body_or_error(response, f"lead {leadgen_id}")

    def list_leads(
        self,
        form_id: str,
        *,
        created_after: datetime,
        created_before: datetime | None = None,
        after: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> LeadPage:
        """One page of the form's leads created inside the window (ends excluded)."""
        window = [_time_filter("GREATER_THAN", created_after)]
        if created_before is not None:
            window.append(_time_filter("LESS_THAN", created_before))
        params = {
            "fields": LEAD_FIELDS,
            "filtering": json.dumps(window, separators=(",", ":")),
            "limit": str(page_size),
        }
        if after:
            params["after"] = after
        response = self._get(f"/{form_id}/leads", params)
        body = _body_or_error(response, f"the leads of form {form_id}")
        leads = [lead for lead in body.get("data") or [] if isinstance(lead, dict)]
        return LeadPage(leads, _next_cursor(body))

    def _get(self, path: str, params: dict[str, str]) -> httpx.Response:
        params = {**params, "access_token": self._token.reveal()}
        # appsecret_proof proves the call comes from the app's server:
        # https://developers.facebook.com/docs/graph-api/securing-requests
        if self._app_secret:
            params["appsecret_proof"] = hmac_hex(
                self._app_secret, self._token.reveal().encode()
            )
        try:
            return self._http.get(self._base + path, params=params)
        except httpx.HTTPError as exc:
            raise GraphError(
                f"Graph API unreachable at {self._base}: {type(exc).__name__}",
                retryable=True,
            ) from exc


def _time_filter(operator: str, moment: datetime) -> dict[str, Any]:
    return {
        "field": "time_created",
        "operator": operator,
        "value": int(moment.timestamp()),
    }


def _next_cursor(body: dict[str, Any]) -> str | None:
    """The ``after`` cursor, only when Graph says another page follows.

    Graph keeps ``cursors.after`` on the last page too; ``paging.next`` is
    what says there is more. The next URL itself is not followed: it
    repeats the token, and the next request is built here like the first.
    """
    paging = body.get("paging")
    paging = paging if isinstance(paging, dict) else {}
    cursors = paging.get("cursors")
    cursors = cursors if isinstance(cursors, dict) else {}
    after = cursors.get("after")
    return str(after) if paging.get("next") and after else None


def _body_or_error(response: httpx.Response, what: str) -> dict[str, Any]:
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
    verdict = "throttled" if throttled else "refused"
    raise GraphError(
        f"Graph API {verdict} {what}: {message} "
        f"(HTTP {response.status_code}, code {graph_code})",
        retryable=throttled or transient,
        graph_code=graph_code,
        retry_after=retry_after,
        token_refused=response.status_code == 401 or graph_code in TOKEN_CODES,
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None
