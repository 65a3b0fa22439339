"""The SSRF guard: only public addresses on web ports are fetched, in every
literal form and on every redirect hop; a loopback test server is reachable
only through the explicit test policy."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from firsttouch.errors import EnrichmentError, UnsafeAddressError
from firsttouch.qualify.providers.fetch import fetch_page
from firsttouch.qualify.providers.ssrf import AddressPolicy, resolve_target
from firsttouch.qualify.providers.website import WebsiteProvider

from .loopback import Reply, serve

PUBLIC = "93.184.216.34"


def table(mapping: dict[str, Sequence[str]]):  # type: ignore[no-untyped-def]
    """A resolver that answers from a table and never asks the network."""

    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in mapping:
            raise UnsafeAddressError(f"cannot resolve {host!r}")
        return mapping[host]

    return resolve


def never(host: str, port: int) -> Sequence[str]:
    raise AssertionError(f"a literal address was sent to the resolver: {host}")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.8.9.10/",
        "http://10.0.0.5/",
        "http://172.16.4.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.170.2/",
        "http://100.100.100.200/",
        "http://0.0.0.0/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://017700000001/",
        "http://[::1]/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[127.0.0.1]/",
        "http://[::1]:80/",
        "http://[fe80::1%25eth0]/",
    ],
)
def test_private_loopback_metadata_and_disguised_addresses_are_refused(
    url: str,
) -> None:
    with pytest.raises(UnsafeAddressError):
        resolve_target(url, never, AddressPolicy())


@pytest.mark.parametrize(
    "url",
    [
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://metadata/",
        "http://instance-data/latest/",
        "http://anything.internal/",
    ],
)
def test_metadata_names_are_refused_before_resolving(url: str) -> None:
    with pytest.raises(UnsafeAddressError, match="metadata or internal"):
        resolve_target(url, never, AddressPolicy())


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["10.1.2.3"],
        ["169.254.169.254"],
        ["::1"],
        [PUBLIC, "192.168.0.10"],  # one bad answer spoils the lot
        ["::ffff:192.168.0.10"],
    ],
)
def test_a_name_that_resolves_to_a_private_address_is_refused(
    answers: list[str],
) -> None:
    with pytest.raises(UnsafeAddressError):
        resolve_target(
            "https://acme.example/", table({"acme.example": answers}), AddressPolicy()
        )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://acme.example/",
        "file:///etc/passwd",
        "gopher://acme.example/",
        "http://acme.example:22/",
        "http://acme.example:6379/",
        "http:///nohost",
    ],
)
def test_other_schemes_and_ports_are_refused(url: str) -> None:
    with pytest.raises(UnsafeAddressError):
        resolve_target(url, table({"acme.example": [PUBLIC]}), AddressPolicy())


def test_a_public_address_is_accepted_and_pinned() -> None:
    target = resolve_target(
        "https://Acme.Example/about?x=1",
        table({"acme.example": [PUBLIC]}),
        AddressPolicy(),
    )
    assert (target.host, target.port, str(target.address), target.path) == (
        "acme.example",
        443,
        PUBLIC,
        "/about?x=1",
    )


def _site(server_port: int, **kw: object) -> WebsiteProvider:
    return WebsiteProvider(
        scheme="http",
        port=server_port,
        resolver=table(
            {"acme.test": ["127.0.0.1"], "rebind.test": ["169.254.169.254"]}
        ),
        **kw,
    )  # type: ignore[arg-type]


HOME = """<html lang="en-US"><head><title>Acme Analytics | Finance data</title>
<meta name="description" content="Close the books faster.">
<script src="https://js.hs-scripts.com/123.js"></script></head><body>hi</body></html>"""


def test_the_loopback_server_is_unreachable_without_the_test_policy() -> None:
    with serve({"/": Reply(body=HOME)}) as server:
        site = _site(server.port)
        with pytest.raises(UnsafeAddressError):
            site.lookup("acme.test", None)  # type: ignore[arg-type]
        assert server.requests == []


def test_the_loopback_server_is_reachable_through_the_explicit_test_policy() -> None:
    with serve({"/": Reply(body=HOME)}) as server:
        site = _site(server.port, policy=AddressPolicy.for_loopback_tests())
        found = site.lookup("acme.test", None)  # type: ignore[arg-type]
    assert found["site_title"] == "Acme Analytics | Finance data"
    assert found["site_description"] == "Close the books faster."
    assert found["site_language"] == "en"
    assert found["technologies"] == ["HubSpot"]
    assert server.requests[0].headers["Host"] == f"acme.test:{server.port}"


@pytest.mark.parametrize(
    "location",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://2852039166/",  # 169.254.169.254 as one decimal number
        "http://rebind.test/",  # a name that now resolves to the metadata address
        "file:///etc/passwd",
    ],
)
def test_a_redirect_to_a_refused_address_is_not_followed(location: str) -> None:
    with serve({"/": Reply(302, headers={"Location": location})}) as server:
        site = _site(server.port, policy=AddressPolicy.for_loopback_tests())
        with pytest.raises(UnsafeAddressError):
            site.lookup("acme.test", None)  # type: ignore[arg-type]
        assert len(server.requests) == 1


def test_a_rebinding_resolver_is_caught_on_the_second_hop() -> None:
    answers = iter([["127.0.0.1"], ["10.0.0.7"]])

    def rebinding(host: str, port: int) -> Sequence[str]:
        return next(answers)

    with serve(
        {"/": Reply(301, headers={"Location": "/home"}), "/home": Reply(body=HOME)}
    ) as server:
        with pytest.raises(UnsafeAddressError, match="10.0.0.7"):
            fetch_page(
                f"http://acme.test:{server.port}/",
                resolver=rebinding,
                policy=AddressPolicy.for_loopback_tests(),
                timeout=2,
                max_bytes=10_000,
                max_redirects=3,
            )
        assert [r.path for r in server.requests] == ["/"]


def test_redirects_within_the_site_are_followed_and_capped() -> None:
    routes = {f"/{n}": Reply(302, headers={"Location": f"/{n + 1}"}) for n in range(5)}
    with (
        serve(routes) as server,
        pytest.raises(EnrichmentError, match="more than 2 redirects"),
    ):
        fetch_page(
            f"http://acme.test:{server.port}/0",
            resolver=table({"acme.test": ["127.0.0.1"]}),
            policy=AddressPolicy.for_loopback_tests(),
            timeout=2,
            max_bytes=10_000,
            max_redirects=2,
        )


def test_a_large_page_is_cut_at_the_size_cap() -> None:
    with serve({"/": Reply(body=b"<p>" + b"x" * 200_000)}) as server:
        page = fetch_page(
            f"http://acme.test:{server.port}/",
            resolver=table({"acme.test": ["127.0.0.1"]}),
            policy=AddressPolicy.for_loopback_tests(),
            timeout=5,
            max_bytes=4096,
            max_redirects=0,
        )
    assert page.truncated and len(page.body) == 4096


def test_a_slow_drip_page_is_cut_at_the_deadline() -> None:
    with serve({"/": Reply(body=b"x" * 400, drip=0.02)}) as server:
        started = time.monotonic()
        with pytest.raises(EnrichmentError, match="ran out of time|failed"):
            fetch_page(
                f"http://acme.test:{server.port}/",
                resolver=table({"acme.test": ["127.0.0.1"]}),
                policy=AddressPolicy.for_loopback_tests(),
                timeout=0.5,
                max_bytes=10_000,
                max_redirects=0,
            )
        assert time.monotonic() - started < 2.0


def test_an_error_status_is_an_enrichment_error() -> None:
    with serve({"/": Reply(503, body="down")}) as server:
        site = _site(server.port, policy=AddressPolicy.for_loopback_tests())
        with pytest.raises(EnrichmentError, match="HTTP 503"):
            site.lookup("acme.test", None)  # type: ignore[arg-type]
