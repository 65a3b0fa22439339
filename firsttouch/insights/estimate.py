"""Estimate pipeline that faster first response might recover.

This is an estimate, and the report says so. It rests on one published
finding and on the team's own figures:

* Oldroyd, McElheran and Elkington (HBR, 2011), from 1.25 million leads at
  42 US companies: firms that tried to reach a lead within an hour were
  nearly seven times as likely to qualify it as firms that tried even an
  hour later. ``lift_within_hour`` carries that 7.
* Qualifying is not winning, so only ``effect_reaching_revenue`` of the lift
  is assumed to reach closed deals (our assumption, 10% by default).

extra won deals = slow leads x conversion x (lift - 1) x effect, capped at
the slow leads not already converting; value = extra won deals x the
average won deal. Every input is listed with its origin and can be changed.
"""

from __future__ import annotations

from firsttouch.insights.basis import Basis, flag
from firsttouch.insights.layers.respond import response_minutes
from firsttouch.insights.results import Assumption, Citation, RecoverableEstimate

CITATIONS: list[Citation] = [
    Citation(
        key="hbr_2011",
        text="Firms that tried to contact a lead within an hour were nearly seven "
        "times as likely to qualify it as those that tried even an hour later, and "
        "over 60 times as likely as those that waited 24 hours or more (1.25 million "
        "leads, 42 US companies). The same article's audit of 2,241 US companies "
        "found 23% never answered a web lead.",
        reference='J. B. Oldroyd, K. McElheran, D. Elkington, "The Short Life of '
        'Online Sales Leads", Harvard Business Review, March 2011.',
    ),
    Citation(
        key="lrm_2007",
        text="The odds of contacting a lead called within 5 minutes rather than 30 "
        "are about 100 times higher, and of qualifying it about 21 times higher.",
        reference='J. B. Oldroyd (MIT) with InsideSales.com, "Lead Response '
        'Management Study", 2007.',
    ),
]

METHOD = (
    "extra won deals = slow leads x conversion rate x (lift - 1) x share of the "
    "lift reaching revenue, capped at the slow leads not already converting; "
    "recoverable pipeline = extra won deals x average won deal value. Slow means "
    "first touched after an hour, or never."
)

MISSING_WORDS = {
    "slow_leads": "the data has no arrival and first-touch times",
    "conversion_rate": "no won/lost outcomes (set conversion_rate=0.2 to supply one)",
    "average_deal_value": "no won deal values (set average_deal_value=5000)",
}


def estimate_recoverable(basis: Basis) -> RecoverableEstimate:
    """Estimate the value of answering every slow lead within the hour."""
    settings = basis.settings
    conversion, conversion_origin = _conversion(basis)
    deal_value, value_origin = _deal_value(basis)
    slow = _slow_leads(basis)
    assumptions = [
        Assumption(
            key="slow_leads",
            label="Leads first touched after an hour or never",
            value=None if slow is None else float(slow),
            origin="counted in your data",
            adjustable=False,
        ),
        Assumption(
            key="conversion_rate",
            label="Conversion rate (won / closed)",
            value=conversion,
            unit="share",
            origin=conversion_origin,
        ),
        Assumption(
            key="average_deal_value",
            label="Average won deal value",
            value=deal_value,
            origin=value_origin,
        ),
        Assumption(
            key="lift_within_hour",
            label="Qualification lift from answering within the hour",
            value=settings.lift_within_hour,
            unit="x",
            origin="published: Oldroyd et al., HBR 2011 (nearly 7x)",
        ),
        Assumption(
            key="effect_reaching_revenue",
            label="Share of that lift that reaches won deals",
            value=settings.effect_reaching_revenue,
            unit="share",
            origin="our assumption; set your own",
        ),
    ]
    missing = [MISSING_WORDS[a.key] for a in assumptions if a.value is None]
    if missing:
        return RecoverableEstimate(
            available=False,
            reason="not estimated: " + "; ".join(missing),
            method=METHOD,
            assumptions=assumptions,
            citations=CITATIONS,
        )

    assert slow is not None and conversion is not None and deal_value is not None
    lift = (settings.lift_within_hour - 1.0) * settings.effect_reaching_revenue
    extra = min(slow * conversion * lift, slow * (1.0 - conversion))
    return RecoverableEstimate(
        available=True,
        value=round(extra * deal_value, 2),
        extra_won_deals=round(extra, 2),
        slow_leads=slow,
        method=METHOD,
        assumptions=assumptions,
        citations=CITATIONS,
    )


def _slow_leads(basis: Basis) -> int | None:
    if not basis.has("created_at", "first_touch_at"):
        return None
    _judged, minutes, _waiting = response_minutes(basis)
    return int((minutes.isna() | (minutes > 60)).sum())


def _conversion(basis: Basis) -> tuple[float | None, str]:
    if basis.settings.conversion_rate is not None:
        return basis.settings.conversion_rate, "set by you"
    if not basis.has("won"):
        return None, "no won/lost outcome in the data"

    records = basis.records
    won_flags = flag(records, "won")
    closed = flag(records, "closed")
    if not (closed & ~won_flags).any():
        # Nothing is recorded as lost (a "Converted" yes/no column, say):
        # every record with a known outcome is the denominator.
        closed = records["won"].notna()
    won = int(won_flags.sum())
    total = int(closed.sum())
    if total == 0:
        return None, "no closed records in the data"
    return round(won / total, 4), f"your data: {won} won of {total} closed"


def _deal_value(basis: Basis) -> tuple[float | None, str]:
    if basis.settings.average_deal_value is not None:
        return basis.settings.average_deal_value, "set by you"
    if not basis.has("deal_value", "won"):
        return None, "no won deal values in the data"

    records = basis.records
    values = records.loc[flag(records, "won"), "deal_value"].dropna()
    values = values[values > 0]
    if values.empty:
        return None, "no won deal values in the data"
    return round(float(values.mean()), 2), f"your data: mean of {len(values)} won deals"
