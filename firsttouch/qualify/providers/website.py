"""The company's home page, fetched under the SSRF guard and read for facts."""

from __future__ import annotations

from typing import Any

import httpx

from firsttouch.qualify.facts import FactSheet
from firsttouch.qualify.providers.fetch import fetch_page
from firsttouch.qualify.providers.page import page_facts
from firsttouch.qualify.providers.ssrf import AddressPolicy, Resolver, system_resolver


class WebsiteProvider:
    """Fetch ``https://<domain>/`` (size- and time-capped) and parse it."""

    name = "website"
    cacheable = True

    def __init__(
        self,
        *,
        timeout: float = 4.0,
        max_bytes: int = 1_000_000,
        max_redirects: int = 3,
        resolver: Resolver = system_resolver,
        policy: AddressPolicy | None = None,
        scheme: str = "https",
        port: int | None = None,
        client: httpx.Client | None = None,
    ):
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.resolver = resolver
        self.policy = policy or AddressPolicy()
        self.scheme = scheme
        self.port = port
        self.client = client

    def key(self, facts: FactSheet) -> str | None:
        # A free-mail domain says nothing about the buyer's company.
        domain = facts.get("website_domain")
        if domain:
            return str(domain)
        domain = facts.get("domain")
        if domain and facts.get("email_type") in ("business", "role"):
            return str(domain)
        return None

    def url_for(self, domain: str) -> str:
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{domain}{port}/"

    def lookup(self, key: str, facts: FactSheet) -> dict[str, Any]:
        page = fetch_page(
            self.url_for(key),
            resolver=self.resolver,
            policy=self.policy,
            timeout=self.timeout,
            max_bytes=self.max_bytes,
            max_redirects=self.max_redirects,
            client=self.client,
        )
        found = page_facts(page.text)
        if page.truncated:
            found["site_truncated"] = True
        return found
