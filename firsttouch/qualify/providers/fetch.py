"""Fetch one page under the SSRF guard, with a size cap and a deadline.

Redirects are followed by hand so that each hop is resolved and checked
again before anything is sent to it; the connection goes to the checked
address, with the original host in ``Host`` and in TLS SNI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from firsttouch.errors import EnrichmentError
from firsttouch.qualify.providers.ssrf import (
    AddressPolicy,
    Resolver,
    Target,
    resolve_target,
)

REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "firsttouch-enrichment/0.1 (+company home page facts)"


@dataclass(frozen=True)
class Page:
    url: str
    status: int
    body: bytes
    encoding: str
    truncated: bool

    @property
    def text(self) -> str:
        return self.body.decode(self.encoding or "utf-8", errors="replace")


def _pinned_url(target: Target) -> str:
    host = target.address.compressed
    if target.address.version == 6:
        host = f"[{host}]"
    return f"{target.scheme}://{host}:{target.port}{target.path}"


def _host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    return target.host if target.port == default else f"{target.host}:{target.port}"


def fetch_page(
    url: str,
    *,
    resolver: Resolver,
    policy: AddressPolicy,
    timeout: float,
    max_bytes: int,
    max_redirects: int,
    client: httpx.Client | None = None,
) -> Page:
    """GET ``url`` and return at most ``max_bytes`` of it within ``timeout`` s.

    Raises ``UnsafeAddressError`` when any hop would reach a refused address
    and ``EnrichmentError`` for every other failure (timeouts included).
    """
    deadline = time.monotonic() + timeout
    own_client = client is None
    http = client or httpx.Client(follow_redirects=False, trust_env=False)
    try:
        for _ in range(max_redirects + 1):
            target = resolve_target(url, resolver, policy)
            page_or_next = _one_hop(http, url, target, deadline, max_bytes)
            if isinstance(page_or_next, Page):
                return page_or_next
            url = page_or_next
        raise EnrichmentError(f"more than {max_redirects} redirects from {url}")
    finally:
        if own_client:
            http.close()


def _remaining(deadline: float, url: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise EnrichmentError(f"fetching {url} ran out of time")
    return left


def _one_hop(
    http: httpx.Client, url: str, target: Target, deadline: float, max_bytes: int
) -> Page | str:
    """Fetch one hop: return the page, or the next URL when redirected."""
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    headers = {
        "Host": _host_header(target),
        "User-Agent": USER_AGENT,
        "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
    }
    try:
        with http.stream(
            "GET",
            _pinned_url(target),
            headers=headers,
            extensions=extensions,
            timeout=_remaining(deadline, url),
        ) as response:
            if response.status_code in REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise EnrichmentError(f"{url} redirected nowhere")
                return urljoin(url, str(location))
            if response.status_code >= 400:
                raise EnrichmentError(f"{url} answered HTTP {response.status_code}")
            body, truncated = _read_capped(response, deadline, url, max_bytes)
            return Page(
                url,
                response.status_code,
                body,
                response.charset_encoding or "utf-8",
                truncated,
            )
    except httpx.HTTPError as exc:
        raise EnrichmentError(f"fetching {url} failed: {type(exc).__name__}") from exc


def _read_capped(
    response: httpx.Response, deadline: float, url: str, max_bytes: int
) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        _remaining(deadline, url)
        chunks.append(chunk)
        size += len(chunk)
        if size >= max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False
