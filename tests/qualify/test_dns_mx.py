"""MX lookups against a tiny DNS server on 127.0.0.1: the mail host is named,
a domain without MX says so, and a silent server times out in time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dns.message
import dns.rcode
import dns.rrset
import pytest

from firsttouch.errors import EnrichmentError
from firsttouch.qualify.providers.dns_mx import DnsMxProvider, mail_host_for

ZONE = {
    "acme-analytics.test.": ["10 aspmx.l.google.com.", "20 alt1.aspmx.l.google.com."],
    "nordlicht.test.": ["0 nordlicht-test.mail.protection.outlook.com."],
    "selfhosted.test.": ["10 mx1.selfhosted.test."],
}


@contextmanager
def dns_server(*, silent: bool = False) -> Iterator[int]:
    """Answer MX queries from ZONE over UDP; NXDOMAIN for other names."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                wire, client = sock.recvfrom(4096)
            except TimeoutError:
                continue
            if silent:
                continue
            query = dns.message.from_wire(wire)
            reply = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text()
            if name in ZONE:
                reply.answer.append(
                    dns.rrset.from_text_list(name, 300, "IN", "MX", ZONE[name])
                )
            else:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(reply.to_wire(), client)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(1)
        sock.close()


@pytest.mark.parametrize(
    ("domain", "host"),
    [
        ("acme-analytics.test", "google_workspace"),
        ("nordlicht.test", "microsoft_365"),
        ("selfhosted.test", "other"),
        ("no-such-domain.test", "none"),
    ],
)
def test_mx_records_name_the_mail_host(domain: str, host: str) -> None:
    with dns_server() as port:
        provider = DnsMxProvider(nameservers=["127.0.0.1"], port=port, timeout=2)
        assert provider.lookup(domain, None)["mail_host"] == host  # type: ignore[arg-type]


def test_the_records_are_kept_in_preference_order() -> None:
    with dns_server() as port:
        provider = DnsMxProvider(nameservers=["127.0.0.1"], port=port, timeout=2)
        found = provider.lookup("acme-analytics.test", None)  # type: ignore[arg-type]
    assert found["mx"] == ["aspmx.l.google.com.", "alt1.aspmx.l.google.com."]


def test_a_silent_server_times_out_within_the_limit() -> None:
    with dns_server(silent=True) as port:
        provider = DnsMxProvider(nameservers=["127.0.0.1"], port=port, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(EnrichmentError, match="timed out"):
            provider.lookup("acme-analytics.test", None)  # type: ignore[arg-type]
        assert time.monotonic() - started < 1.5


def test_no_nameserver_is_a_clear_error() -> None:
    with pytest.raises(EnrichmentError, match="nameservers"):
        DnsMxProvider(nameservers=[])


def test_mail_host_names() -> None:
    assert mail_host_for(["ASPMX.L.GOOGLE.COM."]) == "google_workspace"
    assert mail_host_for(["mx0a-001.pphosted.com"]) == "proofpoint"
    assert mail_host_for([]) == "none"
