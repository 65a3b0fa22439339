"""People Data Labs' Company Enrichment API as a fact source.

Request: ``GET {base_url}/v5/company/enrich?website=<domain>`` with the key in
the ``X-Api-Key`` header. A match answers 200 with the company record
(``name``, ``employee_count``, ``size``, ``industry``, ``location.country``,
``linkedin_url``, ``tags``); no match answers 404. 401/403 mean a bad key,
402 an exhausted plan, 429 the rate limit. There is no default base URL:
the source is off until the workspace names one.
"""

from __future__ import annotations

from typing import Any

import httpx

from firsttouch.config import Secret
from firsttouch.errors import EnrichmentError
from firsttouch.qualify.facts import FactSheet
from firsttouch.qualify.providers.countries import country_code

_FAILURES = {
    401: "the API key was refused",
    403: "the API key may not use company enrichment",
    402: "the plan's credits are used up",
    429: "the rate limit was hit",
}


class PeopleDataLabsProvider:
    name = "people_data_labs"
    cacheable = True

    def __init__(
        self,
        *,
        base_url: str,
        api_key: Secret,
        timeout: float = 4.0,
        client: httpx.Client | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.client = client

    def key(self, facts: FactSheet) -> str | None:
        domain = facts.get("website_domain")
        if not domain and facts.get("email_type") in ("business", "role"):
            domain = facts.get("domain")
        return str(domain) if domain else None

    def lookup(self, key: str, facts: FactSheet) -> dict[str, Any]:
        url = f"{self.base_url}/v5/company/enrich"
        headers = {"X-Api-Key": self.api_key.reveal(), "Accept": "application/json"}
        try:
            if self.client is not None:
                response = self.client.get(
                    url, params={"website": key}, headers=headers, timeout=self.timeout
                )
            else:
                with httpx.Client(trust_env=False) as client:
                    response = client.get(
                        url,
                        params={"website": key},
                        headers=headers,
                        timeout=self.timeout,
                    )
        except httpx.HTTPError as exc:
            raise EnrichmentError(
                f"People Data Labs lookup for {key} failed: {type(exc).__name__}"
            ) from exc

        if response.status_code == 404:
            return {}
        if response.status_code != 200:
            why = _FAILURES.get(response.status_code, "an unexpected answer")
            raise EnrichmentError(
                f"People Data Labs answered HTTP {response.status_code}: {why}"
            )
        try:
            record = response.json()
        except ValueError as exc:
            raise EnrichmentError("People Data Labs answered with no JSON") from exc
        return _company_facts(record)


def _company_facts(record: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if record.get("display_name") or record.get("name"):
        facts["company"] = record.get("display_name") or record.get("name")
    if isinstance(record.get("employee_count"), int):
        facts["employees"] = record["employee_count"]
    elif isinstance(record.get("size"), str):
        low = record["size"].split("-")[0].rstrip("+").replace(",", "")
        if low.isdigit():
            facts["employees"] = int(low)
    if record.get("industry"):
        facts["industry"] = str(record["industry"])
    location = record.get("location") or {}
    if isinstance(location, dict):
        code = country_code(location.get("country"))
        if code:
            facts["country"] = code
        if location.get("region"):
            facts["region"] = str(location["region"])
    if record.get("linkedin_url"):
        facts["same_as"] = [str(record["linkedin_url"])]
    if isinstance(record.get("tags"), list):
        facts["tags"] = [str(t) for t in record["tags"][:10]]
    return facts
