"""Email addresses: business, free-mail, disposable and role, from maintained lists."""

from __future__ import annotations

import pytest

from firsttouch.qualify.email_type import classify_email


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("dana@acme-analytics.com", "business"),
        ("Dana.Ruiz+demo@Acme.com", "business"),
        ("someone@gmail.com", "free"),
        ("someone@yahoo.co.uk", "free"),
        ("someone@gmx.de", "free"),
        ("someone@outlook.com", "free"),
        ("throwaway@mailinator.com", "disposable"),
        ("x@sub.mailinator.com", "disposable"),
        ("info@acme.com", "role"),
        ("sales@acme.com", "role"),
        ("postmaster@acme.com", "role"),
        ("ap+invoices@acme.com", "role"),
        ("not-an-address", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_address_kind(address: str | None, kind: str) -> None:
    assert classify_email(address).kind == kind


def test_the_domain_is_lower_cased() -> None:
    assert classify_email("A@Acme.COM").domain == "acme.com"


def test_a_student_subdomain_is_noticed() -> None:
    assert classify_email("j@student.uni-example.ac.uk").student_domain
    assert not classify_email("j@acme.com").student_domain
