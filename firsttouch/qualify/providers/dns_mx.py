"""MX records name who runs the company's mail: Google, Microsoft, or other."""

from __future__ import annotations

from typing import Any

import dns.exception
import dns.resolver

from firsttouch.errors import EnrichmentError
from firsttouch.qualify.facts import FactSheet

# MX host suffix -> mail provider, most specific first.
MAIL_HOSTS = (
    ("aspmx.l.google.com", "google_workspace"),
    ("googlemail.com", "google_workspace"),
    ("google.com", "google_workspace"),
    ("mail.protection.outlook.com", "microsoft_365"),
    ("outlook.com", "microsoft_365"),
    ("pphosted.com", "proofpoint"),
    ("mimecast.com", "mimecast"),
    ("zoho.com", "zoho"),
    ("zoho.eu", "zoho"),
)


def mail_host_for(exchanges: list[str]) -> str:
    """Name the provider behind a list of MX host names."""
    for exchange in exchanges:
        host = exchange.lower().rstrip(".")
        for suffix, provider in MAIL_HOSTS:
            if host == suffix or host.endswith("." + suffix):
                return provider
    return "other" if exchanges else "none"


class DnsMxProvider:
    """Look up a business domain's MX records with a hard time limit."""

    name = "dns"
    cacheable = True

    def __init__(self, *, nameservers: list[str], port: int = 53, timeout: float = 2.0):
        if not nameservers:
            raise EnrichmentError(
                "the dns source needs icp.enrichment.dns.nameservers; none are set"
            )
        # configure=False: read no /etc/resolv.conf, ask only the named servers.
        self.resolver = dns.resolver.Resolver(configure=False)
        self.resolver.nameservers = list(nameservers)
        self.resolver.port = port
        self.resolver.timeout = timeout
        self.resolver.lifetime = timeout

    def key(self, facts: FactSheet) -> str | None:
        domain = facts.get("domain")
        if domain and facts.get("email_type") in ("business", "role"):
            return str(domain)
        return None

    def lookup(self, key: str, facts: FactSheet) -> dict[str, Any]:
        try:
            answer = self.resolver.resolve(key, "MX")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return {"mail_host": "none"}
        except dns.exception.Timeout as exc:
            raise EnrichmentError(f"MX lookup for {key} timed out") from exc
        except dns.exception.DNSException as exc:
            raise EnrichmentError(f"MX lookup for {key} failed: {exc}") from exc
        records = sorted(answer, key=lambda r: r.preference)
        exchanges = [r.exchange.to_text() for r in records]
        return {"mail_host": mail_host_for(exchanges), "mx": exchanges[:5]}
