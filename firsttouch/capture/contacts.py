"""One contact per person: find the contact an inbound belongs to, or make one.

Order of evidence: the normalised email, then the phone number in E.164
(with a numbering plan's variants), then first + last name at the same
company. A shared role address (info@) or two keys pointing at different
people is never merged silently: a contact is made and flagged for review.

``merge_contacts`` re-parents every row that points at a contact, records
what moved in ``ContactMerge`` and ``undo_merge`` puts it all back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from itertools import product
from typing import Any, cast

from rapidfuzz import fuzz, process
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from firsttouch.capture.events import PersonFacts
from firsttouch.capture.identity import (
    company_domain,
    company_key,
    is_role_address,
    name_key,
    normalise_email,
    normalise_phone,
    phone_place,
    phone_variants,
    split_full_name,
)
from firsttouch.capture.rows import attach_row, insert_new
from firsttouch.errors import InputError, NotFoundError
from firsttouch.store.models import Base, Company, Contact, ContactMerge
from firsttouch.store.prepared import Prepared

# token_sort_ratio at or above this is the same company name, misspelt.
FUZZY_NAME_CUTOFF = 90

# Contact fields an inbound may fill in when they are still empty.
FILLABLE = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "title",
    "company_name",
    "country",
    "region",
    "timezone",
)


@dataclass(frozen=True)
class Resolution:
    """The contact an inbound was tied to, and on what evidence."""

    contact: Contact
    created: bool
    matched_by: str | None
    needs_review: bool = False
    review_reason: str | None = None
    company: Company | None = None


def resolve_contact(
    session: Session,
    facts: PersonFacts,
    *,
    default_region: str | None,
    now: datetime,
    flush: bool = True,
) -> Resolution:
    """Return the one contact ``facts`` describe, creating it when new.

    Runs inside the caller's transaction and commits nothing. With
    ``flush=False`` a new contact is not written yet (no id), so the caller
    can set more fields and write it in one INSERT with ``insert_contact``.
    """
    facts = _complete_names(facts)
    email_norm = normalise_email(facts.email)
    phone = normalise_phone(facts.phone, facts.country or default_region)
    facts = _place_from_phone(facts, phone)
    _lock_keys(session, email_norm, phone)

    by_email, by_phone, by_name = _find_matches(session, facts, email_norm, phone)

    resolution = _decide(facts, email_norm, by_email, by_phone, by_name)
    if resolution is not None:
        _fill_in(resolution.contact, facts, email_norm, phone, now)
        if resolution.needs_review:
            _flag(resolution.contact, resolution.review_reason)
        company = _attach_company(session, resolution.contact, facts)
        return replace(resolution, company=company)

    reason = review_reason_for_new(facts, email_norm, by_email, by_phone, by_name)
    resolution = _create(session, facts, email_norm, phone, now, reason)
    if flush:
        insert_contact(session, resolution.contact)
    return resolution


def insert_contact(session: Session, contact: Contact) -> int:
    """Write a new contact from ``resolve_contact(flush=False)``: one INSERT."""
    new_id = insert_new(session, contact, _INSERT_CONTACT)
    assert new_id is not None  # a plain INSERT either writes or raises
    return new_id


def known_contact(
    session: Session, facts: PersonFacts, *, default_region: str | None
) -> Contact | None:
    """The one existing contact ``facts`` point at, never creating one.

    For events that are not leads (an SMS STOP, a delivery report): they
    belong on the buyer's timeline when we know the buyer, and make no new
    contact when we do not. An ambiguous match attaches nowhere.
    """
    email_norm = normalise_email(facts.email)
    phone = normalise_phone(facts.phone, facts.country or default_region)
    found = _find_by_email(session, email_norm) or _find_by_phone(session, phone)
    return found[0] if len(found) == 1 else None


def _decide(
    facts: PersonFacts,
    email_norm: str | None,
    by_email: list[Contact],
    by_phone: list[Contact],
    by_name: list[Contact],
) -> Resolution | None:
    """Pick the existing contact, or None to make a new one (maybe flagged)."""
    if by_email:
        contact = by_email[0]
        if is_role_address(email_norm) and not _same_person(contact, facts):
            return None  # a new contact, flagged with review_reason_for_new
        others = [c for c in by_phone if c.id != contact.id]
        if others:
            return Resolution(
                contact,
                False,
                "email",
                True,
                f"phone also matches contact {others[0].id}; confirm or merge",
            )
        return Resolution(contact, False, "email")

    if by_phone:
        contact = by_phone[0]
        if email_norm and contact.email_norm and contact.email_norm != email_norm:
            if not _same_person(contact, facts):
                return None
            return Resolution(
                contact,
                False,
                "phone",
                True,
                "same phone and name but a different email; confirm it is one person",
            )
        return Resolution(contact, False, "phone")

    if len(by_name) == 1:
        contact = by_name[0]
        if not (email_norm and contact.email_norm):
            return Resolution(contact, False, "name_company")
    return None


def review_reason_for_new(
    facts: PersonFacts,
    email_norm: str | None,
    by_email: list[Contact],
    by_phone: list[Contact],
    by_name: list[Contact],
) -> str | None:
    """Why a freshly made contact needs a person to look, if it does."""
    if by_email and is_role_address(email_norm):
        return (
            f"shared address {email_norm} is also used by contact "
            f"{by_email[0].id}; not merged"
        )
    if by_phone:
        return (
            f"phone matches contact {by_phone[0].id} with a different email "
            "and name; not merged"
        )
    if len(by_name) > 1:
        ids = ", ".join(str(c.id) for c in by_name[:5])
        return f"name and company match several contacts ({ids}); not merged"
    if len(by_name) == 1:
        return (
            f"same name and company as contact {by_name[0].id} but a "
            "different email; not merged"
        )
    return None


def _create(
    session: Session,
    facts: PersonFacts,
    email_norm: str | None,
    phone: str | None,
    now: datetime,
    reason: str | None,
) -> Resolution:
    contact = Contact(
        email=facts.email.strip() if facts.email else None,
        email_norm=email_norm,
        phone=facts.phone,
        phone_e164=phone,
        first_name=facts.first_name,
        last_name=facts.last_name,
        title=facts.title,
        company_name=facts.company,
        country=(facts.country or "").upper()[:2] or None,
        region=facts.region,
        timezone=facts.timezone,
        status="new",
        needs_review=reason is not None,
        review_reason=reason,
        attributes=_attributes(facts),
        created_at=now,
        updated_at=now,
    )
    # The company first, so the contact is written once, already tied to it.
    company = _attach_company(session, contact, facts)
    return Resolution(contact, True, None, reason is not None, reason, company)


def _complete_names(facts: PersonFacts) -> PersonFacts:
    if facts.first_name or facts.last_name or not facts.full_name:
        return facts
    first, last = split_full_name(facts.full_name)
    return facts.model_copy(update={"first_name": first, "last_name": last})


def _place_from_phone(facts: PersonFacts, phone: str | None) -> PersonFacts:
    # A number's country and zone stand in for what the buyer did not say,
    # so territory routing and local-time sending still work.
    country, zone = phone_place(phone)
    update: dict[str, str] = {}
    if country and not facts.country:
        update["country"] = country
    if zone and not facts.timezone and (facts.country or country) == country:
        update["timezone"] = zone
    return facts.model_copy(update=update) if update else facts


def _same_person(contact: Contact, facts: PersonFacts) -> bool:
    ours = name_key(contact.first_name, contact.last_name)
    theirs = name_key(facts.first_name, facts.last_name)
    return ours is not None and ours == theirs


def _lock_keys(session: Session, email_norm: str | None, phone: str | None) -> None:
    # Two inbounds from one new person at the same moment would both see no
    # contact and make two. On PostgreSQL a transaction lock on each key
    # serialises them; SQLite's BEGIN IMMEDIATE already does.
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(k for k in (email_norm, phone) if k):
        session.execute(_LOCK_KEY, {"k": f"contact:{key}"})


_LOCK_KEY = text("SELECT pg_advisory_xact_lock(hashtext(:k))")

# Contacts not merged into another: the only ones a new inbound may match.
_LIVE = Contact.merged_into_id.is_(None)
_CONTACTS = cast(Table, Contact.__table__)
_COMPANIES_TABLE = cast(Table, Company.__table__)


def _find_by_email(session: Session, email_norm: str | None) -> list[Contact]:
    if not email_norm:
        return []
    return list(session.scalars(_BY_EMAIL, {"email_norm": email_norm}))


def _find_by_phone(session: Session, phone: str | None) -> list[Contact]:
    if not phone:
        return []
    found = session.scalars(_BY_PHONE, {"phones": phone_variants(phone)})
    return [contact for contact in found if contact.merged_into_id is None]


def _find_matches(
    session: Session, facts: PersonFacts, email_norm: str | None, phone: str | None
) -> tuple[list[Contact], list[Contact], list[Contact]]:
    """The live contacts that share the email, the phone, and the name at company.

    One probe on bare columns asks all three questions at once; whole
    contacts are loaded only when something matched, which for a new
    person is never. Names are compared only when neither key matched.
    """
    key = company_key(facts.company)
    by_name_asked = bool(facts.first_name and facts.last_name and key)
    asked = (bool(email_norm), bool(phone), by_name_asked)
    if not any(asked):
        return [], [], []

    params: dict[str, Any] = {}
    if email_norm:
        params["email_norm"] = email_norm
    if phone:
        params["phones"] = phone_variants(phone)
    if by_name_asked:
        assert facts.first_name and facts.last_name  # by_name_asked says so
        params["first"] = facts.first_name.strip().lower()
        params["last"] = facts.last_name.strip().lower()
    probe = _PROBES[asked].run(session, params)
    # Merged contacts are dropped here, not in SQL: with that condition in
    # the WHERE, SQLite walks the merged_into_id index (every live contact)
    # instead of the three key indexes.
    rows = [row for row in probe if row.merged_into_id is None]
    if not rows:
        return [], [], []

    email_ids = [r.id for r in rows if _flag_of(r, "by_email")]
    phone_ids = [r.id for r in rows if _flag_of(r, "by_phone")]
    name_ids: list[int] = []
    if not (email_ids or phone_ids):
        # Common names recur across companies: only the same company counts.
        name_ids = [
            r.id
            for r in rows
            if _flag_of(r, "by_name") and company_key(r.company_name) == key
        ]
    wanted = [*email_ids, *phone_ids, *name_ids]
    if not wanted:
        return [], [], []
    loaded = {c.id: c for c in session.scalars(_BY_IDS, {"ids": wanted})}
    return (
        [loaded[i] for i in email_ids],
        [loaded[i] for i in phone_ids],
        [loaded[i] for i in name_ids],
    )


def _flag_of(row: Row[Any], name: str) -> bool:
    # A probe carries only the flags it was asked for; NULL (no value to
    # compare) is no match.
    return bool(row._mapping.get(name))


def _probe(email: bool, phone: bool, name: bool) -> Select[Any]:
    tests: dict[str, ColumnElement[bool]] = {}
    if email:
        tests["by_email"] = _CONTACTS.c.email_norm == bindparam("email_norm")
    if phone:
        tests["by_phone"] = _CONTACTS.c.phone_e164.in_(
            bindparam("phones", expanding=True)
        )
    if name:
        tests["by_name"] = and_(
            func.lower(_CONTACTS.c.first_name) == bindparam("first"),
            func.lower(_CONTACTS.c.last_name) == bindparam("last"),
            _CONTACTS.c.company_name.is_not(None),
        )
    flags = [test.label(label) for label, test in tests.items()]
    return (
        select(
            _CONTACTS.c.id,
            _CONTACTS.c.company_name,
            _CONTACTS.c.merged_into_id,
            *flags,
        )
        .where(or_(*tests.values()))
        .order_by(_CONTACTS.c.id)
    )


# One probe per combination of keys an inbound can carry (email, phone,
# name at company), built once: this runs for every lead.
_PROBES = {
    asked: Prepared(_probe(*asked))
    for asked in product((True, False), repeat=3)
    if any(asked)
}


def _fill_in(
    contact: Contact,
    facts: PersonFacts,
    email_norm: str | None,
    phone: str | None,
    now: datetime,
) -> None:
    # An inbound adds what we did not know; it never overwrites what we did.
    values: dict[str, Any] = {
        "email": facts.email.strip() if facts.email else None,
        "phone": facts.phone,
        "first_name": facts.first_name,
        "last_name": facts.last_name,
        "title": facts.title,
        "company_name": facts.company,
        "country": (facts.country or "").upper()[:2] or None,
        "region": facts.region,
        "timezone": facts.timezone,
    }
    for name, value in values.items():
        if value and not getattr(contact, name):
            setattr(contact, name, value)
    if email_norm and not contact.email_norm:
        contact.email_norm = email_norm
    if phone and not contact.phone_e164:
        contact.phone_e164 = phone
    extra = _attributes(facts)
    if extra:
        contact.attributes = {**extra, **(contact.attributes or {})}
    contact.updated_at = now


def _flag(contact: Contact, reason: str | None) -> None:
    contact.needs_review = True
    contact.review_reason = reason


def _attributes(facts: PersonFacts) -> dict[str, Any]:
    extra = {
        "website": facts.website,
        "industry": facts.industry,
        "employees": facts.employees,
    }
    return {k: v for k, v in extra.items() if v is not None}


def _attach_company(
    session: Session, contact: Contact, facts: PersonFacts
) -> Company | None:
    """Tie the contact to a company by email domain, else by company name."""
    if contact.company_id is not None:
        return session.get(Company, contact.company_id)
    domain = company_domain(contact.email_norm)
    key = company_key(facts.company or contact.company_name)
    company = _find_company(session, domain, key)
    if company is None and (domain or key):
        company = _insert_company(session, domain, facts, key)
    if company is not None:
        if domain and company.domain is None:
            company.domain = domain  # known by name until now; the domain is free
        _fill_company(company, facts)
        contact.company_id = company.id
    return company


# Built once: these run for every new lead, and building a statement and
# its cache key cost more than running it.
_BY_EMAIL = (
    select(Contact)
    .where(Contact.email_norm == bindparam("email_norm"), _LIVE)
    .order_by(Contact.id)
)
# Live contacts only, but filtered after the read: see _find_matches.
_BY_PHONE = (
    select(Contact)
    .where(Contact.phone_e164.in_(bindparam("phones", expanding=True)))
    .order_by(Contact.id)
)
_BY_IDS = (
    select(Contact)
    .where(Contact.id.in_(bindparam("ids", expanding=True)))
    .order_by(Contact.id)
)
_INSERT_CONTACT = Prepared(_CONTACTS.insert().returning(_CONTACTS.c.id))
_COMPANY_BY = {
    (True, True): or_(
        Company.domain == bindparam("domain"), Company.name_key == bindparam("key")
    ),
    (True, False): Company.domain == bindparam("domain"),
    (False, True): Company.name_key == bindparam("key"),
}
# Whole rows on Core: only the one chosen becomes an ORM object.
_COMPANIES = {
    known: Prepared(
        select(*_COMPANIES_TABLE.c).where(condition).order_by(Company.id).limit(20)
    )
    for known, condition in _COMPANY_BY.items()
}


def _find_company(
    session: Session, domain: str | None, key: str | None
) -> Company | None:
    """The company a domain names, else one whose name matches (exactly or nearly).

    A name never overrides a domain: "Acme" at acme.example is not the
    "Acme" at acme-tools.example.
    """
    if not (domain or key):
        return None
    statement = _COMPANIES[(bool(domain), bool(key))]
    params = {"domain": domain, "key": key}
    rows = [r._mapping for r in statement.run(session, params)]
    for row in rows:
        if domain and row["domain"] == domain:
            return attach_row(session, Company, row)
    for row in rows:
        if row["name_key"] == key and row["domain"] in (None, domain):
            return attach_row(session, Company, row)
    if key and not domain:
        return _nearly_named(session, key)
    return None


def _nearly_named(session: Session, key: str) -> Company | None:
    # "Northwind Traders" and "Northwind Trader" are one firm; the shared
    # first word keeps the candidates few, so this stays one indexed query.
    first = key.split()[0]
    candidates = list(
        session.scalars(
            select(Company)
            .where(Company.name_key.like(f"{first}%"))
            .order_by(Company.id)
            .limit(200)
        )
    )
    choices = {c.id: c.name_key or "" for c in candidates}
    best = process.extractOne(
        key, choices, scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_NAME_CUTOFF
    )
    if best is None:
        return None
    return next(c for c in candidates if c.id == best[2])


def _insert_company(
    session: Session, domain: str | None, facts: PersonFacts, key: str | None
) -> Company:
    # The domain is unique: a concurrent insert of the same company (on
    # PostgreSQL; SQLite lets one writer in at a time) waits for the other
    # transaction, inserts nothing, and this one reads the winner's row.
    company = Company(
        domain=domain, name=facts.company or domain, name_key=key or company_key(domain)
    )
    _fill_company(company, facts)
    statement = _INSERT_COMPANY[session.get_bind().dialect.name]
    if insert_new(session, company, statement) is not None:
        return company
    existing = session.scalar(select(Company).where(Company.domain == domain))
    if existing is None:
        raise RuntimeError(f"company {domain} was neither inserted nor found")
    return existing


_INSERT_COMPANY = {
    name: Prepared(
        dialect.insert(_COMPANIES_TABLE)
        .on_conflict_do_nothing(index_elements=["domain"])
        .returning(_COMPANIES_TABLE.c.id)
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_CLAIM_COMPANY = Prepared(
    update(_COMPANIES_TABLE)
    .where(_COMPANIES_TABLE.c.id == bindparam("id_"))
    .values(owner_id=bindparam("owner"))
)


def claim_company(session: Session, company: Company, owner_id: str) -> None:
    """Make ``owner_id`` the owner of an unowned ``company``: one UPDATE.

    The first rep to get someone from a company owns the account, so a
    colleague who writes in next week reaches the same rep.
    """
    if company.owner_id is not None:
        return
    _CLAIM_COMPANY.run(session.connection(), {"id_": company.id, "owner": owner_id})
    # Written already: the session must not write it again at commit.
    set_committed_value(company, "owner_id", owner_id)


def _fill_company(company: Company, facts: PersonFacts) -> None:
    if facts.industry and not company.industry:
        company.industry = facts.industry
    if facts.employees and not company.employee_count:
        company.employee_count = facts.employees
    if facts.country and not company.country:
        company.country = facts.country.upper()[:2]
    if facts.company and (not company.name or company.name == company.domain):
        company.name = facts.company
        company.name_key = company_key(facts.company)


def _contact_tables() -> list[Table]:
    """Every table with a ``contact_id`` column, whichever area owns it."""
    return [
        t
        for t in Base.metadata.sorted_tables
        if "contact_id" in t.c and t.name != "contact_merges"
    ]


def merge_contacts(
    session: Session,
    survivor_id: int,
    merged_id: int,
    *,
    actor: str,
    reason: str,
    now: datetime,
) -> ContactMerge:
    """Fold ``merged_id`` into ``survivor_id``; every pointing row moves.

    What moved (row ids per table, fields filled in) is recorded so that
    ``undo_merge`` can restore both contacts exactly. Commits nothing.
    """
    if survivor_id == merged_id:
        raise InputError("a contact cannot be merged into itself", field="merged_id")
    survivor = session.get(Contact, survivor_id)
    merged = session.get(Contact, merged_id)
    if survivor is None or merged is None:
        missing = survivor_id if survivor is None else merged_id
        raise NotFoundError(f"contact {missing} does not exist")
    if merged.merged_into_id is not None or survivor.merged_into_id is not None:
        raise InputError("one of these contacts is already merged; undo that first")

    moved: dict[str, Any] = {"rows": {}, "filled": {}}
    for table in _contact_tables():
        ids = list(
            session.scalars(select(table.c.id).where(table.c.contact_id == merged_id))
        )
        if ids:
            session.execute(
                update(table).where(table.c.id.in_(ids)).values(contact_id=survivor_id)
            )
            moved["rows"][table.name] = ids

    for name in (*FILLABLE, "email_norm", "phone_e164", "owner_id", "company_id"):
        if getattr(survivor, name) is None and getattr(merged, name) is not None:
            moved["filled"][name] = getattr(merged, name)
            setattr(survivor, name, getattr(merged, name))

    merged.merged_into_id = survivor_id
    merged.updated_at = survivor.updated_at = now
    record = ContactMerge(
        survivor_id=survivor_id,
        merged_id=merged_id,
        actor=actor,
        reason=reason,
        moved=moved,
        created_at=now,
    )
    session.add(record)
    session.flush()
    return record


def undo_merge(session: Session, merge_id: int, *, now: datetime) -> ContactMerge:
    """Put back every row and field a merge moved; commits nothing."""
    record = session.get(ContactMerge, merge_id)
    if record is None:
        raise NotFoundError(f"merge {merge_id} does not exist")
    if record.undone_at is not None:
        raise InputError(f"merge {merge_id} was already undone")

    tables = {t.name: t for t in _contact_tables()}
    for name, ids in (record.moved or {}).get("rows", {}).items():
        table = tables[name]
        session.execute(
            update(table)
            .where(table.c.id.in_(ids), table.c.contact_id == record.survivor_id)
            .values(contact_id=record.merged_id)
        )

    survivor = session.get(Contact, record.survivor_id)
    merged = session.get(Contact, record.merged_id)
    assert survivor is not None and merged is not None  # FKs guarantee both
    for name, value in (record.moved or {}).get("filled", {}).items():
        if getattr(survivor, name) == value:
            setattr(survivor, name, None)
    merged.merged_into_id = None
    merged.updated_at = survivor.updated_at = now
    record.undone_at = now
    session.flush()
    return record


def contacts_needing_review(session: Session, limit: int = 100) -> list[Contact]:
    """Live contacts flagged for a person to look at, oldest first."""
    stmt = (
        select(Contact)
        .where(Contact.needs_review.is_(True), _LIVE)
        .order_by(Contact.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def live_contact(session: Session, contact_id: int) -> Contact | None:
    """Follow merges to the contact that stands for ``contact_id`` today."""
    contact = session.get(Contact, contact_id)
    seen = set()
    while contact is not None and contact.merged_into_id is not None:
        if contact.id in seen:
            break
        seen.add(contact.id)
        contact = session.get(Contact, contact.merged_into_id)
    return contact


__all__ = [
    "Resolution",
    "claim_company",
    "contacts_needing_review",
    "insert_contact",
    "live_contact",
    "merge_contacts",
    "resolve_contact",
    "undo_merge",
]
