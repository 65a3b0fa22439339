"""Qualify one inbound: gather facts, enrich, score, brief, route, store.

The database is touched in short transactions only: reads (the lead, the
cached answers) that take no write lock, then one write for the result.
Enrichment (which may wait on the network) runs between them, holding no
lock, so a slow website never blocks another writer. The result and the
owner alert it calls for commit together.

This runs for every lead, so its statements are built once: the lead, its
contact and company come in one query, and the result goes in as one
insert rather than through the ORM's unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import Row, Table, bindparam, insert, select
from sqlalchemy.orm import Session

from firsttouch.jobs.queue import enqueue
from firsttouch.qualify.brief import write_brief
from firsttouch.qualify.enrichment import CachedAnswer, Enrichment, cache_expiry, enrich
from firsttouch.qualify.facts import FactSheet, fact_name, website_domain
from firsttouch.qualify.llm_brief import LlmBriefWriter
from firsttouch.qualify.providers.base import Provider
from firsttouch.qualify.providers.countries import country_code
from firsttouch.qualify.scoring import CriterionResult, Score, score_lead
from firsttouch.store.db import Database
from firsttouch.store.models import (
    Company,
    Contact,
    EnrichmentCacheEntry,
    Inbound,
    Qualification,
)
from firsttouch.store.prepared import Prepared
from firsttouch.workspace import Workspace

log = structlog.get_logger(__name__)

# Inbound fields that describe the form itself, not the lead.
_PERSON_KEYS = frozenset({"form", "form_name", "files"})

# The lead, its contact and company, and the id of the newest qualification
# under the current ICP version (None if there is none yet): one query.
_DONE_ID = (
    select(Qualification.id)
    .where(
        Qualification.inbound_id == Inbound.id,
        Qualification.icp_version == bindparam("icp_version"),
    )
    .order_by(Qualification.id.desc())
    .limit(1)
    .scalar_subquery()
)
# Only the columns the facts come from: a whole Inbound carries its raw
# payload, and building three ORM objects cost more than the query.
_LEAD = Prepared(
    select(
        Inbound.body_text,
        Inbound.subject,
        Inbound.source,
        Inbound.channel,
        Inbound.campaign,
        Inbound.fields,
        Contact.id.label("contact_id"),
        Contact.email,
        Contact.email_norm,
        Contact.first_name,
        Contact.last_name,
        Contact.title,
        Contact.company_name,
        Contact.country.label("contact_country"),
        Contact.region,
        Contact.attributes,
        Company.id.label("company_id"),
        Company.name.label("company"),
        Company.industry,
        Company.employee_count,
        Company.country.label("company_country"),
        Company.domain,
        _DONE_ID.label("done_id"),
    )
    .select_from(Inbound)
    .outerjoin(Contact, Contact.id == Inbound.contact_id)
    .outerjoin(Company, Company.id == Contact.company_id)
    .where(Inbound.id == bindparam("inbound_id"))
)
_QUALIFICATIONS = cast(Table, Qualification.__table__)
_INSERT_QUALIFICATION = Prepared(
    insert(_QUALIFICATIONS).returning(_QUALIFICATIONS.c.id)
)


@dataclass(frozen=True)
class Outcome:
    """What qualifying one inbound decided; ``created`` is False on a repeat."""

    qualification_id: int
    score: Score
    brief: str
    brief_source: str
    created: bool


def lead_facts(lead: Row[Any]) -> FactSheet:
    """The facts the lead itself and our own records state, before enrichment.

    ``lead`` is a row of ``_LEAD``: the inbound's columns, and its contact's
    and company's (None where it has none).
    """
    facts = FactSheet()
    if lead.contact_id is not None:
        facts.merge(
            {
                "email": lead.email_norm or lead.email,
                "first_name": lead.first_name,
                "last_name": lead.last_name,
                "title": lead.title,
                "company": lead.company_name,
                "country": country_code(lead.contact_country),
                "region": lead.region,
            },
            "lead",
        )
        attributes = lead.attributes or {}
        facts.add("website_domain", website_domain(attributes.get("website")), "lead")
        facts.add("industry", attributes.get("industry"), "lead")
        facts.add("employees", attributes.get("employees"), "lead")
    fields = lead.fields or {}
    facts.merge(
        {
            "message": lead.body_text,
            "subject": lead.subject,
            "source": lead.source,
            "channel": lead.channel,
            "campaign": lead.campaign,
        },
        "lead",
    )
    for name, value in fields.items():
        if name not in _PERSON_KEYS and isinstance(value, str | int | float):
            facts.add(fact_name(str(name)), value, "lead")
    if lead.company_id is not None:
        facts.merge(
            {
                "company": lead.company,
                "industry": lead.industry,
                "employees": lead.employee_count,
                "country": country_code(lead.company_country),
                "website_domain": lead.domain,
            },
            "crm",
        )
    return facts


def load_cache(
    session: Session, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], CachedAnswer]:
    """Cached answers for these (provider, key) pairs, expired ones included."""
    if not keys:
        return {}
    providers = {p for p, _ in keys}
    wanted = {k for _, k in keys}
    rows = session.scalars(
        select(EnrichmentCacheEntry).where(
            EnrichmentCacheEntry.provider.in_(providers),
            EnrichmentCacheEntry.key.in_(wanted),
        )
    )
    return {
        (r.provider, r.key): CachedAnswer(dict(r.facts or {}), r.expires_at)
        for r in rows
    }


def save_cache(
    session: Session,
    fresh: dict[tuple[str, str], dict[str, Any]],
    now: datetime,
    ttl_hours: float,
) -> None:
    """Store new answers, replacing any expired entry for the same key."""
    for (provider, key), found in fresh.items():
        row = session.scalar(
            select(EnrichmentCacheEntry).where(
                EnrichmentCacheEntry.provider == provider,
                EnrichmentCacheEntry.key == key,
            )
        )
        if row is None:
            row = EnrichmentCacheEntry(provider=provider, key=key)
            session.add(row)
        row.facts = found
        row.fetched_at = now
        row.expires_at = cache_expiry(now, ttl_hours)


def latest_qualification(session: Session, inbound_id: int) -> Qualification | None:
    """The most recent qualification of an inbound, or None if it has none yet."""
    return session.scalar(
        select(Qualification)
        .where(Qualification.inbound_id == inbound_id)
        .order_by(Qualification.id.desc())
        .limit(1)
    )


def qualify_inbound(
    db: Database,
    workspace: Workspace,
    inbound_id: int,
    *,
    providers: list[Provider],
    now: datetime,
    llm: LlmBriefWriter | None = None,
    rescore: bool = False,
) -> Outcome | None:
    """Qualify one inbound and store the result; None if the inbound is gone.

    Commits one ``Qualification`` and, for route ``rep_now``, the
    ``respond.alert_owner`` job in the same transaction. Without ``rescore``
    an inbound already qualified under the current ICP version is left as
    it is (a retried job changes nothing).
    """
    icp = workspace.icp
    with db.engine.connect() as conn:
        params = {"inbound_id": inbound_id, "icp_version": icp.version}
        lead = _LEAD.run(conn, params).first()
    if lead is None:
        log.warning("qualify.inbound_missing", inbound_id=inbound_id)
        return None
    if lead.done_id is not None and not rescore:
        with db.sessions() as session:
            done = session.get_one(Qualification, lead.done_id)
        return _outcome(done, icp.version, created=False)
    facts = lead_facts(lead)
    contact_id = lead.contact_id

    def read_cache(keys: list[tuple[str, str]]) -> dict[tuple[str, str], CachedAnswer]:
        with db.sessions() as session:
            return load_cache(session, keys)

    enrichment = enrich(
        facts,
        providers,
        now=now,
        read_cache=read_cache,
        budget_seconds=icp.enrichment.budget_seconds,
    )
    score = score_lead(icp, enrichment.facts)
    brief = write_brief(enrichment.facts, score, workspace.company.product)
    brief_source = "template"
    if llm is not None:
        rewritten = llm.rewrite(brief, enrichment.facts)
        brief, brief_source = rewritten.text, rewritten.source

    # Not worth an fsync: lost to a power cut, the job (whose completion
    # commits after this) runs again and writes the same result.
    with db.transaction(durable=False) as session:
        save_cache(session, enrichment.fresh, now, icp.enrichment.cache_ttl_hours)
        qualification_id = _store(
            session, inbound_id, contact_id, score, brief, brief_source, enrichment, now
        )
        if score.route == "rep_now":
            enqueue(
                session,
                "respond.alert_owner",
                {"inbound_id": inbound_id, "qualification_id": qualification_id},
                key=f"alert:{inbound_id}",
                now=now,
            )

    log.info(
        "lead.scored",
        inbound_id=inbound_id,
        score=score.total,
        route=score.route,
        icp_version=icp.version,
        failed_sources=[r.provider for r in enrichment.failures()],
    )
    return Outcome(qualification_id, score, brief, brief_source, created=True)


def _store(
    session: Session,
    inbound_id: int,
    contact_id: int | None,
    score: Score,
    brief: str,
    brief_source: str,
    enrichment: Enrichment,
    now: datetime,
) -> int:
    """Insert the qualification; return its id."""
    values = {
        "inbound_id": inbound_id,
        "contact_id": contact_id,
        "icp_version": score.icp_version,
        "score": score.total,
        "route": score.route,
        "intent": score.intent,
        "reasons": score.reasons_json(),
        "brief": brief,
        "brief_source": brief_source,
        "facts": enrichment.facts.as_json(),
        "sources": [r.as_json() for r in enrichment.runs],
        "disqualified_reason": score.disqualified_reason,
        "created_at": now,
    }
    # On the connection: the session adds nothing to a Core insert but cost.
    inserted = _INSERT_QUALIFICATION.run(session.connection(), values)
    return int(inserted.scalar_one())


def _outcome(row: Qualification, version: str, *, created: bool) -> Outcome:
    criteria = tuple(
        CriterionResult(
            c["name"],
            c["kind"],
            c["weight"],
            c["share"],
            c["points"],
            c["reason"],
            tuple(c.get("sources", ())),
        )
        for c in (row.reasons or {}).get("criteria", [])
    )
    score = Score(
        total=row.score,
        route=row.route,
        criteria=criteria,
        disqualified_reason=row.disqualified_reason,
        disqualifiers=tuple((row.reasons or {}).get("disqualifiers", [])),
        intent=row.intent,
        intent_words=tuple((row.reasons or {}).get("intent_words", [])),
        icp_version=version,
    )
    return Outcome(row.id, score, row.brief, row.brief_source, created=created)
