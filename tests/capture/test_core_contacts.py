"""One contact per person: normalised keys, review flags, audited merges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from firsttouch.capture.contacts import merge_contacts, resolve_contact, undo_merge
from firsttouch.capture.events import PersonFacts
from firsttouch.capture.identity import (
    company_key,
    normalise_email,
    normalise_phone,
    phone_variants,
)
from firsttouch.errors import InputError
from firsttouch.store.db import Database
from firsttouch.store.models import Company, Contact, Inbound


def resolve(db: Database, clock, **facts: object):  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        found = resolve_contact(
            session, PersonFacts(**facts), default_region="US", now=clock.now()
        )
        return found.contact.id, found.created, found.needs_review, found.review_reason


def test_email_normalisation_folds_gmail_only() -> None:
    assert normalise_email("  Ada.Love+crm@GoogleMail.com ") == "adalove@gmail.com"
    assert (
        normalise_email("ada.love+crm@fastmail.example")
        == "ada.love+crm@fastmail.example"
    )
    assert normalise_email("not an address") is None
    assert normalise_email("ＡＤＡ@example.com") == "ada@example.com"


def test_phone_numbers_become_e164_with_the_default_region() -> None:
    assert normalise_phone("(415) 555-0142", "US") == "+14155550142"
    assert normalise_phone("020 7946 0018", "GB") == "+442079460018"
    assert normalise_phone("call me", "US") is None


def test_brazilian_mobile_ninth_digit_matches_but_landlines_do_not() -> None:
    assert "+551187654321" in phone_variants("+5511987654321")
    assert phone_variants("+551134567890") == ["+551134567890"]


def test_company_names_compare_without_suffixes() -> None:
    assert company_key("Acme, Inc.") == company_key("ACME") == "acme"
    assert company_key("Müller & Söhne GmbH") == "muller and sohne"


def test_same_email_from_any_channel_is_one_contact(any_db, clock) -> None:  # type: ignore[no-untyped-def]
    first = resolve(any_db, clock, email="ada@analytical.example", first_name="Ada")
    again = resolve(any_db, clock, email="ADA@analytical.example", phone="+14155550142")
    by_phone = resolve(any_db, clock, phone="(415) 555-0142")

    assert first[1] and not again[1] and not by_phone[1]
    assert first[0] == again[0] == by_phone[0]
    with any_db.sessions() as session:
        contact = session.get(Contact, first[0])
        company = session.get(Company, contact.company_id)
    assert contact.phone_e164 == "+14155550142"
    assert company.domain == "analytical.example"


def test_free_mail_never_names_a_company(any_db, clock) -> None:  # type: ignore[no-untyped-def]
    contact_id, *_ = resolve(any_db, clock, email="someone@gmail.com")
    with any_db.sessions() as session:
        assert session.get(Contact, contact_id).company_id is None


def test_shared_role_address_is_not_merged_silently(any_db, clock) -> None:  # type: ignore[no-untyped-def]
    first = resolve(
        any_db, clock, email="info@bakery.example", first_name="Tom", last_name="Baker"
    )
    second = resolve(
        any_db, clock, email="info@bakery.example", first_name="Jane", last_name="Roll"
    )

    assert first[0] != second[0]
    assert second[2] and "shared address" in second[3]


def test_email_and_phone_pointing_at_two_people_is_flagged(any_db, clock) -> None:  # type: ignore[no-untyped-def]
    a = resolve(any_db, clock, email="a@one.example")
    b = resolve(any_db, clock, email="b@two.example", phone="+14155550100")
    mixed = resolve(any_db, clock, email="a@one.example", phone="+14155550100")

    assert mixed[0] == a[0] != b[0]
    assert mixed[2] and "phone also matches" in mixed[3]


def test_name_and_company_match_only_without_conflicting_email(any_db, clock) -> None:  # type: ignore[no-untyped-def]
    base = resolve(
        any_db,
        clock,
        email="li@harbor.example",
        first_name="Li",
        last_name="Wong",
        company="Harbor Co",
    )
    same = resolve(
        any_db,
        clock,
        first_name="li",
        last_name="WONG",
        company="Harbor",
        phone="+14155550177",
    )
    other = resolve(
        any_db,
        clock,
        email="li.wong@elsewhere.example",
        first_name="Li",
        last_name="Wong",
        company="Harbor Co.",
    )

    assert same[0] == base[0]
    assert other[0] != base[0] and other[2]


def test_merge_reparents_everything_and_undo_restores_it(any_db, clock) -> None:  # type: ignore[no-untyped-def]
    keep = resolve(any_db, clock, email="rosa@parks.example")[0]
    drop = resolve(any_db, clock, phone="+14155550199", first_name="Rosa")[0]
    with any_db.transaction() as session:
        session.add(
            Inbound(
                dedupe_key="x:1",
                received_at=clock.now(),
                channel="sms",
                source="sms",
                contact_id=drop,
            )
        )

    with any_db.transaction() as session:
        merge = merge_contacts(
            session, keep, drop, actor="dana", reason="same person", now=clock.now()
        )
        merge_id = merge.id
    with any_db.sessions() as session:
        inbound = session.query(Inbound).one()
        survivor = session.get(Contact, keep)
        assert inbound.contact_id == keep
        assert survivor.phone_e164 == "+14155550199"
        assert session.get(Contact, drop).merged_into_id == keep

    with any_db.transaction() as session:
        undo_merge(session, merge_id, now=clock.now())
    with any_db.sessions() as session:
        assert session.query(Inbound).one().contact_id == drop
        assert session.get(Contact, keep).phone_e164 is None
        assert session.get(Contact, drop).merged_into_id is None

    with any_db.transaction() as session, pytest.raises(InputError):
        undo_merge(session, merge_id, now=clock.now())


def test_a_merged_contact_is_never_matched_again(any_db, clock) -> None:  # type: ignore[no-untyped-def]
    keep = resolve(any_db, clock, email="kim@first.example")[0]
    drop = resolve(
        any_db,
        clock,
        email="kim.park@second.example",
        phone="+14155550123",
        first_name="Kim",
        last_name="Park",
        company="Parkside",
    )[0]
    with any_db.transaction() as session:
        merge_contacts(
            session, keep, drop, actor="dana", reason="same person", now=clock.now()
        )

    # The merge filled the survivor's empty phone and name in, not its email;
    # the merged contact answers none of its keys any more.
    by_phone = resolve(any_db, clock, phone="(415) 555-0123")
    by_email = resolve(any_db, clock, email="kim.park@second.example")
    by_name = resolve(
        any_db, clock, first_name="Kim", last_name="Park", company="Parkside Inc"
    )

    assert by_phone[0] == keep and not by_phone[1]
    assert by_email[1] and by_email[0] not in (keep, drop)
    assert by_name[0] == keep and not by_name[1]


def test_phone_fills_in_country_and_zone_when_not_given(any_db, clock) -> None:  # type: ignore[no-untyped-def]
    contact_id, *_ = resolve(any_db, clock, phone="+44 20 7946 0018")
    with any_db.sessions() as session:
        contact = session.get(Contact, contact_id)
    assert contact.country == "GB" and contact.timezone == "Europe/London"


def test_company_names_match_nearly_but_never_override_a_domain(any_db, clock) -> None:  # type: ignore[no-untyped-def]
    a = resolve(any_db, clock, phone="+14155550111", company="Northwind Traders Inc")[0]
    b = resolve(any_db, clock, phone="+14155550112", company="Northwind Trader")[0]
    c = resolve(
        any_db, clock, email="x@northwind.example", company="Northwind Traders"
    )[0]
    d = resolve(any_db, clock, email="y@nw-tools.example", company="Northwind Traders")[
        0
    ]
    with any_db.sessions() as session:
        companies = [session.get(Contact, i).company_id for i in (a, b, c, d)]
        named = session.get(Company, companies[0])
        assert named.domain == "northwind.example"
    assert companies[0] == companies[1] == companies[2] != companies[3]


def test_brazilian_mobile_with_or_without_the_ninth_digit_is_one_contact(
    any_db, clock
) -> None:  # type: ignore[no-untyped-def]
    with_nine = resolve(any_db, clock, phone="+55 11 98765-4321")[0]
    without = resolve(any_db, clock, phone="+55 11 8765-4321")[0]
    landline = resolve(any_db, clock, phone="+55 11 3456-7890")[0]
    other_landline = resolve(any_db, clock, phone="+55 11 93456-7890")[0]

    assert with_nine == without
    assert landline != other_landline


def test_cli_lists_flagged_contacts_then_merges_and_undoes(
    tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from firsttouch.cli import app
    from firsttouch.clock import VirtualClock
    from firsttouch.store import migrate

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", url)
    monkeypatch.setattr("firsttouch.cli.configure_logging", lambda *a, **k: None)
    db = Database(url)
    clock = VirtualClock(datetime(2026, 3, 10, 14, 0, tzinfo=UTC))
    first = resolve(db, clock, email="info@mill.example", first_name="A", last_name="B")
    second = resolve(
        db, clock, email="info@mill.example", first_name="C", last_name="D"
    )
    db.dispose()
    runner = CliRunner()

    review = runner.invoke(app, ["contacts", "review"])
    merged = runner.invoke(
        app, ["contacts", "merge", str(first[0]), str(second[0]), "--reason", "same"]
    )
    undone = runner.invoke(app, ["contacts", "undo-merge", "1"])

    assert str(second[0]) in review.output and "shared address" in review.output
    assert merged.exit_code == 0 and "merge 1" in merged.output
    assert undone.exit_code == 0, undone.output
