"""Internationalised addresses as SMTP carries them (RFC 5890, RFC 6531).

An address has two parts that go international in different ways:

- a domain with non-ASCII characters has an ASCII spelling, its IDNA
  A-labels (``exämple.de`` is ``xn--exmple-cua.de``), which every server
  accepts; we always send that spelling, in the envelope and the headers;
- a local part with non-ASCII characters has no ASCII spelling. Only a
  server that advertises SMTPUTF8 takes it (``MAIL FROM:<...> SMTPUTF8``
  and UTF-8 header fields, RFC 6531 and RFC 6532); to any other the
  address cannot be written at all.

``AddressError`` says an address cannot be written for email; the SMTP
sender turns it into a permanent ``DeliveryError``, and the booking page
into a message for the buyer.
"""

from __future__ import annotations

import idna

from firsttouch.channels.control_chars import has_control, header_text
from firsttouch.logs import mask_email


class AddressError(ValueError):
    """An address that cannot be written on the wire, and why."""


def wire_address(address: str) -> str:
    """Return ``address`` with its domain as IDNA A-labels when it is not ASCII.

    An ASCII domain is left exactly as given. Raises ``AddressError`` when
    there is no ``@``, the address holds a control character (a line break,
    say) or the domain is no valid internationalised name.
    """
    if has_control(address):
        # Unlike a name, an address cannot be mended: one with a line break
        # is no mailbox, and written raw it would add a header or a command.
        raise AddressError(
            f"the address {mask_email(header_text(address))} holds a line break "
            "or another control character; correct it on the contact"
        )
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise AddressError(f"{mask_email(address)} is not an email address")
    if domain.isascii():
        return address
    return f"{local}@{idna_domain(domain)}"


def idna_domain(domain: str) -> str:
    """Return a domain as A-labels, or raise ``AddressError``."""
    try:
        # UTS 46 mapping first: it folds case and full-width forms the way
        # browsers and mail clients do before the strict IDNA 2008 check.
        return str(idna.encode(domain.rstrip("."), uts46=True).decode("ascii"))
    except idna.IDNAError as exc:
        raise AddressError(
            f"the domain {domain!r} is not a valid internationalised domain "
            f"name ({exc})"
        ) from exc


def needs_smtputf8(*addresses: str | None) -> bool:
    """True when any of ``addresses`` has a local part outside ASCII."""
    return any(
        address and not address.rpartition("@")[0].isascii() for address in addresses
    )


def first_international(*addresses: str | None) -> str | None:
    """Return the first address whose local part needs SMTPUTF8, if any."""
    return next((a for a in addresses if a and needs_smtputf8(a)), None)
