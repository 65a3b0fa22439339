"""The SSRF guard: a fetch may reach only public addresses on web ports.

Every host is resolved here, every address it resolves to is checked, and
the connection is then pinned to a checked address, so a DNS answer that
changes between the check and the connect (rebinding) cannot slip through.
Literal forms that resolvers accept are read the same way a resolver
would: ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` and ``127.1`` are all
loopback; ``::ffff:127.0.0.1`` and NAT64 ``64:ff9b::a9fe:a9fe`` carry an
IPv4 address that is checked in its place.

A test reaches its loopback server only by passing an ``AddressPolicy``
that names the loopback network explicitly.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from firsttouch.errors import UnsafeAddressError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

WEB_PORTS = frozenset({80, 443})
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Cloud metadata services, refused by name as well as by range.
METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("fd00:ec2::254"),
    }
)
METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "instance-data"})


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses and ports a fetch may reach; public web ports by default."""

    extra_networks: tuple[IpNetwork, ...] = ()
    any_port: bool = False

    @classmethod
    def for_loopback_tests(cls) -> AddressPolicy:
        """Let tests reach their own loopback server on any port."""
        return cls(
            extra_networks=(
                ipaddress.ip_network("127.0.0.0/8"),
                ipaddress.ip_network("::1/128"),
            ),
            any_port=True,
        )


@dataclass(frozen=True)
class Target:
    """A URL whose host has been resolved and checked."""

    url: str
    scheme: str
    host: str
    port: int
    address: IpAddress
    path: str = field(default="/")


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve through the operating system, as a browser would."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeAddressError(f"cannot resolve {host!r}: {exc}") from exc
    return [str(info[4][0]) for info in infos]


def literal_address(host: str) -> IpAddress | None:
    """Read a host that is an IP literal in any form a resolver accepts."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    # inet_aton takes the historic forms: decimal, hex, octal, short dotted.
    if text and all(c in "0123456789abcdefxABCDEFX." for c in text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def check_address(address: IpAddress, policy: AddressPolicy) -> None:
    """Raise ``UnsafeAddressError`` unless ``address`` may be reached."""
    if any(address in net for net in policy.extra_networks):
        return
    inner = embedded_ipv4(address)
    if inner is not None:
        if any(inner in net for net in policy.extra_networks):
            return
        check_address(inner, AddressPolicy())
    if address in METADATA:
        raise UnsafeAddressError(f"{address} is a cloud metadata address")
    if not address.is_global or address.is_multicast or address.is_reserved:
        raise UnsafeAddressError(
            f"{address} is not a public address (loopback, private, link-local "
            "or reserved)"
        )


def resolve_target(url: str, resolver: Resolver, policy: AddressPolicy) -> Target:
    """Resolve and check ``url``; return where to connect, or raise."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:
        raise UnsafeAddressError(f"malformed URL {url!r}: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeAddressError(f"only http and https may be fetched, not {url!r}")
    host = (hostname or "").lower().rstrip(".")
    if not host:
        raise UnsafeAddressError(f"no host in {url!r}")
    if host in METADATA_NAMES or host.endswith(".internal"):
        raise UnsafeAddressError(f"{host} names a metadata or internal service")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeAddressError(f"bad port in {url!r}") from exc
    if port not in WEB_PORTS and not policy.any_port:
        raise UnsafeAddressError(f"port {port} is not a web port")

    literal = literal_address(host)
    if literal is not None:
        addresses: list[IpAddress] = [literal]
    else:
        answers = resolver(host, port)
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in answers]
        except ValueError as exc:
            raise UnsafeAddressError(f"{host} resolved to a malformed address") from exc
    if not addresses:
        raise UnsafeAddressError(f"{host} resolved to no address")

    # Every answer must be safe: a resolver may hand out any of them later.
    for address in addresses:
        check_address(address, policy)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url, parts.scheme, host, port, addresses[0], path)
