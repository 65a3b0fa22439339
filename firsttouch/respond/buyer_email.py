"""The address a buyer types on the booking page, and one that bounced.

An address is checked when it is typed, so the buyer hears at once what is
wrong with it: it must be one bare address (no name, list or comment to
carry into the invite's headers), and its domain must have an ASCII
spelling that mail can reach (IDNA). A non-ASCII local part is accepted:
whether it can be delivered depends on the mail server (SMTPUTF8), which
only the send can tell.

When an email to an address then fails for good (an invite, or the first
reply), the booking page asks for the address again, and the one typed
replaces the unreachable one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from firsttouch.capture.identity import normalise_email
from firsttouch.channels.smtp.addresses import AddressError, idna_domain
from firsttouch.store.models import Contact, Meeting, Touch

EMAIL_MAX = 320
EMAIL_SPECIALS = frozenset('<>()[]\\,;:"')
INVITE_PURPOSE = "meeting_invite"
# Email touch states that say whether the address took the message.
SETTLED = ("sent", "delivered", "read", "failed")


class BuyerEmailError(ValueError):
    """The typed address cannot be used; the message says why, to the buyer."""


def read_buyer_email(value: str) -> str:
    """Return the address a buyer typed, trimmed; raise ``BuyerEmailError``."""
    address = value.strip()
    if not address:
        raise BuyerEmailError(
            "Please give the email address the invitation should go to."
        )
    if (
        len(address) > EMAIL_MAX
        or normalise_email(address) is None
        or any(c in EMAIL_SPECIALS for c in address)
        or not address.isprintable()
    ):
        raise BuyerEmailError(
            "That is not an email address we can send to. Please type one "
            "address, like name@example.com, with nothing around it."
        )
    domain = address.rpartition("@")[2]
    try:
        # Checked as IDNA even when ASCII: an empty or over-long label, or a
        # hyphen at either end, is no host name mail can be sent to either.
        idna_domain(domain)
    except AddressError as exc:
        raise BuyerEmailError(
            f"Email cannot reach {domain}: it is not a valid domain name. "
            "Please check the part after the @."
        ) from exc
    return address


def undelivered_email(session: Session, contact: Contact | None) -> Touch | None:
    """Return the last email to the address on file when it failed for good.

    Any email counts, a first touch as much as an invite: a lead whose first
    reply could not be delivered is asked for another address when booking.
    Only the latest settled one decides: an address that took a later email
    is reachable again, whatever failed before.
    """
    if contact is None or contact.id is None or not contact.email:
        return None
    latest = session.scalar(
        select(Touch)
        .where(
            Touch.contact_id == contact.id,
            Touch.channel == "email",
            Touch.to_address == contact.email,
            Touch.status.in_(SETTLED),
        )
        .order_by(Touch.id.desc())
        .limit(1)
    )
    return latest if latest is not None and latest.status == "failed" else None


def meeting_invite_failed(session: Session, meeting: Meeting) -> Touch | None:
    """Return the meeting's last buyer copy when it failed for good."""
    latest = session.scalar(
        select(Touch)
        .where(
            Touch.purpose == INVITE_PURPOSE,
            Touch.idempotency_key.like(f"invite:{meeting.uid}:%buyer"),
        )
        .order_by(Touch.id.desc())
        .limit(1)
    )
    return latest if latest is not None and latest.status == "failed" else None


def store_buyer_email(
    session: Session, contact_id: int | None, address: str | None
) -> None:
    """Keep a typed address on a contact with none, or with an unreachable one.

    An address that works is never overwritten from a booking link.
    """
    contact = session.get(Contact, contact_id) if contact_id and address else None
    if contact is None:
        return
    if contact.email and undelivered_email(session, contact) is None:
        return
    contact.email = address
    contact.email_norm = normalise_email(address)
