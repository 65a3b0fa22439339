"""The leak score from firsttouch's own tables, for the dashboard and the demo.

Each first inbound (not a reply) becomes one record: its arrival, source,
channel and owner; its first touch (the one the respond layer stamped, else
the earliest touch sent); how many touches went out and when the last did;
whether the buyer replied (a reply inbound threaded under it) and on which
touch; the latest fit score and whether the route was "disqualified"; the
contact's open tasks as next steps, latest activity and its log time; and
the contact's latest deal. Deals whose contact never sent an inbound are
added as deal-only rows so the CRM layer sees every deal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from firsttouch import clock
from firsttouch.insights.report import report_from_records
from firsttouch.insights.results import InputSummary, LeakReport
from firsttouch.insights.settings import LeakSettings
from firsttouch.store import models

WON_STAGES = frozenset({"won", "closed_won", "closedwon", "closed won", "customer"})
LOST_STAGES = frozenset({"lost", "closed_lost", "closedlost", "closed lost"})
# The status capture gives events it stores without making a lead of them.
NOT_A_LEAD = "recorded"
SENT_STATES = frozenset(
    {"sent", "delivered", "read", "answered", "completed", "queued"}
)


def leak_score_from_store(
    source: Session | Any,
    *,
    now: datetime | None = None,
    settings: LeakSettings | None = None,
) -> LeakReport:
    """Score firsttouch's own records as of ``now``.

    ``source`` is a SQLAlchemy session, or a runtime (anything with ``db``
    and ``clock``), as the dashboard passes. ``now`` defaults to the
    runtime's clock, or the process clock for a session. Reads only;
    commits nothing.
    """
    if isinstance(source, Session):
        return _score(source, now or clock.now(), settings)

    moment = now or source.clock.now()
    with source.db.sessions() as session:
        return _score(session, moment, settings)


def records_from_store(session: Session) -> pd.DataFrame:
    """One normalised record per first inbound, plus deal-only rows."""
    inbounds = _frame(
        session,
        select(
            models.Inbound.id,
            models.Inbound.parent_id,
            models.Inbound.contact_id,
            models.Inbound.received_at,
            models.Inbound.source,
            models.Inbound.channel,
            models.Inbound.owner_id,
            models.Inbound.first_touch_at,
            models.Inbound.status,
        ),
    )
    # A lead is a first inbound that capture treated as one: not a reply, and
    # not a recorded event such as an SMS STOP or a delivery status.
    is_lead = inbounds["parent_id"].isna() & inbounds["status"].ne(NOT_A_LEAD)
    leads = inbounds[is_lead].drop(columns=["status"]).copy()
    leads = leads.rename(
        columns={"id": "lead_id", "received_at": "created_at", "owner_id": "owner"}
    )
    for column in ("source", "channel", "owner"):
        # An empty string is how a required column says "unknown".
        leads[column] = leads[column].replace("", None)
    leads = _with_touches(session, leads, inbounds)
    leads = _with_qualification(session, leads)
    leads = _with_contact_facts(session, leads)
    return _with_deals(session, leads)


def _score(
    session: Session, now: datetime | None, settings: LeakSettings | None
) -> LeakReport:
    records = records_from_store(session)
    summary = InputSummary(
        origin="firsttouch records", rows_read=len(records), rows_used=len(records)
    )
    return report_from_records(records, as_of=now, settings=settings, summary=summary)


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``keys.map(values)``, also when ``values`` is empty.

    pandas casts an empty mapping to float64 and fails on a time column; a
    store with no replies (or no tasks) yet must still score.
    """
    if values.empty:
        return pd.Series([None] * len(keys), index=keys.index, dtype="object")
    return keys.map(values)


def _frame(session: Session, statement: Any) -> pd.DataFrame:
    result = session.execute(statement)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _with_touches(
    session: Session, leads: pd.DataFrame, inbounds: pd.DataFrame
) -> pd.DataFrame:
    touches = _frame(
        session,
        select(
            models.Touch.inbound_id,
            models.Touch.sent_at,
            models.Touch.status,
        ).where(
            models.Touch.inbound_id.is_not(None), models.Touch.sent_at.is_not(None)
        ),
    )
    touches = touches[touches["status"].isin(SENT_STATES)]
    by_lead = touches.groupby("inbound_id")["sent_at"]
    leads["touches"] = _lookup(leads["lead_id"], by_lead.size()).fillna(0)
    leads["last_touch_at"] = _lookup(leads["lead_id"], by_lead.max())
    leads["first_touch_at"] = leads["first_touch_at"].fillna(
        _lookup(leads["lead_id"], by_lead.min())
    )

    # A reply is an inbound threaded under the lead; it answered the touches
    # sent before it arrived.
    replies = inbounds[inbounds["parent_id"].notna()]
    first_reply = replies.groupby("parent_id")["received_at"].min()
    leads["replied_at"] = _lookup(leads["lead_id"], first_reply)
    leads["replied"] = leads["replied_at"].notna()
    merged = touches.merge(
        leads[["lead_id", "replied_at"]], left_on="inbound_id", right_on="lead_id"
    )
    answered = merged[merged["sent_at"] <= merged["replied_at"]]
    leads["reply_touch"] = _lookup(leads["lead_id"], answered.groupby("lead_id").size())
    leads.loc[~leads["replied"], "reply_touch"] = None
    return leads.drop(columns=["replied_at"])


def _with_qualification(session: Session, leads: pd.DataFrame) -> pd.DataFrame:
    qualification = getattr(models, "Qualification", None)
    if qualification is None:
        return leads
    rows = _frame(
        session,
        select(
            qualification.inbound_id,
            qualification.id,
            qualification.score,
            qualification.route,
        ),
    )
    # A re-score adds a row; the latest one counts.
    latest = rows.sort_values("id").drop_duplicates("inbound_id", keep="last")
    latest = latest.set_index("inbound_id")
    leads["score"] = _lookup(leads["lead_id"], latest["score"])
    route = _lookup(leads["lead_id"], latest["route"])
    leads["disqualified"] = route.eq("disqualified").where(route.notna(), None)
    return leads


def _with_contact_facts(session: Session, leads: pd.DataFrame) -> pd.DataFrame:
    tasks = _frame(
        session,
        select(models.Task.contact_id, models.Task.due_at).where(
            models.Task.done_at.is_(None), models.Task.due_at.is_not(None)
        ),
    )
    leads["next_step_at"] = _lookup(
        leads["contact_id"], tasks.groupby("contact_id")["due_at"].min()
    )

    activities = _frame(
        session,
        select(
            models.Activity.contact_id,
            models.Activity.occurred_at,
            models.Activity.created_at,
        ).where(models.Activity.contact_id.is_not(None)),
    )
    if activities.empty:
        # No activity has ever been logged here (the CRM layer is not
        # writing yet): the CRM layer has no data, rather than scoring 0
        # for "nothing logged on any lead".
        return leads
    latest = (
        activities.sort_values("occurred_at")
        .drop_duplicates("contact_id", keep="last")
        .set_index("contact_id")
    )
    leads["last_activity_at"] = _lookup(leads["contact_id"], latest["occurred_at"])
    leads["logged_at"] = _lookup(leads["contact_id"], latest["created_at"])
    return leads


def _with_deals(session: Session, leads: pd.DataFrame) -> pd.DataFrame:
    deals = _frame(
        session,
        select(
            models.Deal.id,
            models.Deal.contact_id,
            models.Deal.stage,
            models.Deal.value,
            models.Deal.stage_changed_at,
            models.Deal.created_at,
            models.Deal.closed_at,
        ),
    )
    if deals.empty:
        return leads

    stage = deals["stage"].fillna("").str.lower()
    deals["won"] = stage.isin(WON_STAGES)
    deals["closed"] = (
        deals["won"] | stage.isin(LOST_STAGES) | deals["closed_at"].notna()
    )
    deals["stage_entered_at"] = deals["stage_changed_at"].fillna(deals["created_at"])
    deals["deal_value"] = deals["value"].astype("float64")
    deal_columns = [
        "stage",
        "deal_value",
        "won",
        "closed",
        "closed_at",
        "stage_entered_at",
    ]

    # Each contact's latest deal goes on its first lead; the rest stand alone.
    latest = deals.sort_values("id").drop_duplicates("contact_id", keep="last")
    first_leads = leads.sort_values("created_at").drop_duplicates("contact_id")
    attach = latest[latest["contact_id"].isin(first_leads["contact_id"].dropna())]
    by_contact = attach.set_index("contact_id")
    target = leads["lead_id"].isin(first_leads["lead_id"]) & leads["contact_id"].notna()
    for column in deal_columns:
        leads[column] = None
        leads.loc[target, column] = _lookup(
            leads.loc[target, "contact_id"], by_contact[column]
        )

    alone = deals[~deals["id"].isin(attach["id"])].copy()
    alone["lead_id"] = "deal-" + alone["id"].astype(str)
    return pd.concat([leads, alone[["lead_id", *deal_columns]]], ignore_index=True)
