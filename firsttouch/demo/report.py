"""The demo's figures, read back from the store after the replay.

Everything here is computed from the rows the layers wrote, never from the
replay's own bookkeeping, so the figures show what the product did: what
capture stored, when respond's first touch went out, what qualify decided.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from firsttouch.demo.figures import after_hours, median, percentile, share
from firsttouch.respond.alerts import ALERT_PURPOSE
from firsttouch.runtime import Runtime
from firsttouch.store.models import Contact, Inbound, Touch
from firsttouch.store.models.qualify import REP_ROUTES

FIVE_MINUTES = 300.0


@dataclass
class FirstTouchFigures:
    leads: int = 0
    touched: int = 0
    median_s: float | None = None
    p99_s: float | None = None
    under_5min: float = 0.0
    by_part: dict[str, dict[str, Any]] = field(default_factory=dict)
    untouched: dict[str, int] = field(default_factory=dict)


@dataclass
class QueueEntry:
    inbound_id: int
    name: str
    company: str
    owner: str | None
    channel: str
    score: int | None
    route: str | None
    brief: str
    reasons: list[str]
    converted_in_data: bool | None


@dataclass
class DemoReport:
    seed: int
    leads_note: str
    inbounds: int = 0
    leads: int = 0
    contacts: int = 0
    duplicates_ignored: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    first_touch: FirstTouchFigures = field(default_factory=FirstTouchFigures)
    touches_by_channel: dict[str, int] = field(default_factory=dict)
    rep_alerts: int = 0
    routes: dict[str, int] = field(default_factory=dict)
    disqualified_reasons: dict[str, int] = field(default_factory=dict)
    conversion_by_route: dict[str, dict[str, Any]] = field(default_factory=dict)
    monday_queue: list[QueueEntry] = field(default_factory=list)
    sla_breaches: int = 0
    sla_states: dict[str, int] = field(default_factory=dict)
    human_sla_states: dict[str, int] = field(default_factory=dict)
    opt_outs: int = 0
    leak_week: dict[str, Any] | None = None
    leak_as_handled: dict[str, Any] | None = None
    replay: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def capture_figures(session: Session, report: DemoReport) -> None:
    """Inbounds by channel and source, leads, and the contacts they resolved to."""
    report.inbounds = session.scalar(select(func.count(Inbound.id))) or 0
    report.leads = (
        session.scalar(
            select(func.count(Inbound.id)).where(
                Inbound.first_touch_due_at.is_not(None)
            )
        )
        or 0
    )
    report.contacts = (
        session.scalar(
            select(func.count(Contact.id)).where(Contact.merged_into_id.is_(None))
        )
        or 0
    )
    report.by_channel = dict(
        sorted(
            session.execute(
                select(Inbound.channel, func.count()).group_by(Inbound.channel)
            ).all()
        )
    )
    report.by_source = dict(
        sorted(
            session.execute(
                select(Inbound.source, func.count()).group_by(Inbound.source)
            ).all()
        )
    )


def first_touch_figures(session: Session, team_zone: str) -> FirstTouchFigures:
    """Time from capture to the first touch, over every lead, at every hour."""
    rows = session.execute(
        select(
            Inbound.received_at,
            Inbound.first_touch_at,
            Inbound.sla_state,
            Contact.timezone,
        )
        .outerjoin(Contact, Contact.id == Inbound.contact_id)
        .where(Inbound.first_touch_due_at.is_not(None))
        .order_by(Inbound.id)
    ).all()

    figures = FirstTouchFigures(leads=len(rows))
    waits: list[float] = []
    parts: dict[str, list[float]] = {"business": [], "night": [], "weekend": []}
    counts: Counter[str] = Counter()
    untouched: Counter[str] = Counter()
    for received, touched, sla_state, zone in rows:
        part = after_hours(received, zone or team_zone)
        counts[part] += 1
        if touched is None:
            untouched[sla_state or "unknown"] += 1
            continue
        wait = (touched - received).total_seconds()
        waits.append(wait)
        parts[part].append(wait)

    figures.touched = len(waits)
    figures.median_s = median(waits)
    figures.p99_s = percentile(waits, 0.99)
    figures.under_5min = share(sum(w <= FIVE_MINUTES for w in waits), len(rows))
    figures.by_part = {
        part: {
            "leads": counts[part],
            "median_s": median(values),
            "under_5min": share(sum(w <= FIVE_MINUTES for w in values), counts[part]),
        }
        for part, values in parts.items()
    }
    figures.untouched = dict(untouched)
    return figures


def touch_figures(session: Session) -> dict[str, int]:
    """Touches to buyers sent (or written to the outbox) per channel.

    Alerts to reps and managers are recorded as touches on the lead too;
    they are counted apart (``alert_count``).
    """
    return dict(
        sorted(
            session.execute(
                select(Touch.channel, func.count())
                .where(Touch.purpose != ALERT_PURPOSE)
                .group_by(Touch.channel)
            ).all()
        )
    )


def alert_count(session: Session) -> int:
    """Alerts sent to owners and managers (new hot leads, missed clocks)."""
    query = select(func.count()).where(Touch.purpose == ALERT_PURPOSE)
    return int(session.scalar(query) or 0)


def sla_figures(session: Session, clock: str = "first_touch") -> dict[str, int]:
    """What respond's SLA clock recorded at each lead's deadline, by state.

    ``met``: out in time; ``deferred_by_policy``: held by consent rules (an
    SMS-only buyer at 2 AM gets the text when quiet hours end);
    ``breached``: nothing out and nothing holding it back.
    """
    from firsttouch.store.models import SlaEvent

    return dict(
        session.execute(
            select(SlaEvent.state, func.count())
            .where(SlaEvent.clock == clock)
            .group_by(SlaEvent.state)
        ).all()
    )


def format_moment(moment: datetime | None) -> str:
    return moment.strftime("%a %H:%M UTC") if moment else "-"


def build_report(
    runtime: Runtime,
    *,
    seed: int,
    leads_note: str,
    profiles: dict[str, Any],
) -> DemoReport:
    """Every figure the demo prints, read from the store the replay filled."""
    report = DemoReport(seed=seed, leads_note=leads_note)
    team_zone = runtime.workspace.team.timezone
    with runtime.db.sessions() as session:
        capture_figures(session, report)
        report.duplicates_ignored = 0
        report.first_touch = first_touch_figures(session, team_zone)
        report.touches_by_channel = touch_figures(session)
        report.rep_alerts = alert_count(session)
        report.sla_states = sla_figures(session)
        report.sla_breaches = report.sla_states.get("breached", 0)
        report.human_sla_states = sla_figures(session, "human")
        report.opt_outs = opt_out_count(session)
        qualification_figures(session, report, profiles)
    report.leak_week, report.leak_as_handled = leak_figures(runtime, profiles)
    return report


def opt_out_count(session: Session) -> int:
    """Opt-outs the consent gate now holds (the week's STOP among them)."""
    from firsttouch.store.models import OptOut

    return session.scalar(select(func.count(OptOut.id))) or 0


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _counts(values: dict[str, int]) -> str:
    return ", ".join(
        f"{name} {count}"
        for name, count in sorted(values.items(), key=lambda item: (-item[1], item[0]))
    )


def render_text(report: DemoReport, *, queue_size: int = 10) -> str:
    """The terminal summary: one section per promise the demo makes."""
    from firsttouch.demo.figures import format_seconds

    ft = report.first_touch
    lines = [
        f"firsttouch demo: one week of inbound, seed {report.seed}",
        f"  leads: {report.leads_note}",
        "",
        "Captured",
        f"  {report.inbounds} inbounds -> {report.leads} leads, "
        f"{report.contacts} contacts"
        f" ({report.replay.get('duplicates', 0)} provider retries ignored)",
        f"  by channel: {_counts(report.by_channel)}",
        f"  by source:  {_counts(report.by_source)}",
        "",
        "First touch (virtual clock, each worker pass counted as 1 s; "
        "nights and weekend included)",
        f"  {ft.touched}/{ft.leads} leads answered; "
        f"median {format_seconds(ft.median_s)}, "
        f"p99 {format_seconds(ft.p99_s)}, under 5 minutes {_pct(ft.under_5min)}",
    ]
    for part, data in ft.by_part.items():
        lines.append(
            f"  {part:<9} {data['leads']:>4} leads, median "
            f"{format_seconds(data['median_s'])}, "
            f"under 5 min {_pct(data['under_5min'])}"
        )
    if ft.untouched:
        lines.append(f"  not answered automatically: {_counts(ft.untouched)}")
    lines.append(
        f"  touches by channel: {_counts(report.touches_by_channel) or 'none'}"
        f" (and {report.rep_alerts} alerts to owners and managers)"
    )
    lines.append(f"  opt-outs honoured: {report.opt_outs}")

    lines += ["", "Routes"]
    lines.append(f"  {_counts(report.routes) or 'no qualifications recorded'}")
    if report.disqualified_reasons:
        lines.append(f"  disqualified because: {_counts(report.disqualified_reasons)}")
    for route, data in report.conversion_by_route.items():
        lines.append(
            f"  {route:<12} {data['leads']:>4} leads, converted in the data set "
            f"{_pct(data['converted'])}"
        )

    lines += ["", f"Monday queue (top {queue_size} by score)"]
    for entry in report.monday_queue[:queue_size]:
        lines.append(
            f"  [{entry.score if entry.score is not None else '--':>3}] "
            f"{entry.name} ({entry.company or 'no company'}), {entry.channel}, "
            f"owner {entry.owner or 'unassigned'}"
        )
        if entry.brief:
            lines.append(f"        {entry.brief[:220]}")
    if not report.monday_queue:
        lines.append("  (empty)")

    lines += [
        "",
        f"SLA breaches: {report.sla_breaches}  (deadline checks: "
        f"{_counts(report.sla_states) or 'none'})",
        "  a person's follow-up on hot leads (nobody works the demo's queue, so "
        "these alert the owners): "
        f"{_counts(report.human_sla_states) or 'none due yet'}",
    ]
    lines += ["", "Revenue Leak Score"]
    for label, leak in (
        ("this week, with firsttouch", report.leak_week),
        ("same leads, as the data set shows they were handled", report.leak_as_handled),
    ):
        if not leak:
            lines.append(f"  {label}: not available")
            continue
        lines.append(
            f"  {label}: biggest leak {leak.get('biggest') or 'none'}"
            f" ({leak.get('records')} leads)"
        )
        if leak.get("headline"):
            lines.append(f"    {leak['headline']}")
        layers = leak.get("layers", {})
        lines.append(
            "    "
            + ", ".join(
                f"{name} {score if score is not None else 'no data'}"
                for name, score in layers.items()
            )
        )
    replay = report.replay
    lines += [
        "",
        f"Replayed {replay.get('arrivals')} arrivals, {replay.get('jobs_run')} jobs in "
        f"{replay.get('replay_seconds')} s "
        f"({replay.get('work_seconds')} s of it in the worker)",
    ]
    return "\n".join(lines)


def _latest_qualifications(session: Session) -> dict[int, Any]:
    """The newest qualification of each inbound (a re-score adds a row)."""
    from firsttouch.store.models.qualify import Qualification

    latest: dict[int, Any] = {}
    for row in session.scalars(select(Qualification).order_by(Qualification.id)):
        latest[row.inbound_id] = row
    return latest


def _top_reasons(reasons: dict[str, Any], limit: int = 3) -> list[str]:
    criteria = sorted(
        reasons.get("criteria", []), key=lambda c: -float(c.get("points", 0))
    )
    return [
        f"+{c['points']} {c['name']}: {c['reason']}"
        for c in criteria[:limit]
        if c.get("points")
    ]


def qualification_figures(
    session: Session, report: DemoReport, profiles: dict[str, Any]
) -> None:
    """Routes, reasons, conversion by route and the Monday queue (qualify's rows)."""
    latest = _latest_qualifications(session)
    leads = session.execute(
        select(Inbound, Contact)
        .outerjoin(Contact, Contact.id == Inbound.contact_id)
        .where(Inbound.first_touch_due_at.is_not(None))
        .order_by(Inbound.id)
    ).all()

    routes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    outcomes: dict[str, list[bool]] = {}
    queue: list[QueueEntry] = []
    for inbound, contact in leads:
        row = latest.get(inbound.id)
        route = row.route if row else "not qualified"
        routes[route] += 1
        if row is not None and row.disqualified_reason:
            reasons[row.disqualified_reason] += 1
        profile = profiles.get(str((inbound.fields or {}).get("dataset_row")))
        if profile is not None:
            outcomes.setdefault(route, []).append(bool(profile.converted))
        if row is not None and route in REP_ROUTES and not inbound.human_touch_at:
            queue.append(_queue_entry(inbound, contact, row, profile))

    report.routes = dict(routes)
    report.disqualified_reasons = dict(reasons)
    report.conversion_by_route = {
        route: {"leads": len(values), "converted": share(sum(values), len(values))}
        for route, values in sorted(outcomes.items())
    }
    queue.sort(key=lambda entry: (-(entry.score or 0), entry.inbound_id))
    report.monday_queue = queue


def _queue_entry(
    inbound: Inbound, contact: Contact | None, row: Any, profile: Any
) -> QueueEntry:
    name = (
        " ".join(
            p for p in ((contact.first_name, contact.last_name) if contact else ()) if p
        )
        or (contact.email or contact.phone if contact else None)
        or "unknown"
    )
    return QueueEntry(
        inbound_id=inbound.id,
        name=name,
        company=(contact.company_name or "") if contact else "",
        owner=inbound.owner_id,
        channel=inbound.channel,
        score=row.score,
        route=row.route,
        brief=row.brief,
        reasons=_top_reasons(row.reasons or {}),
        converted_in_data=bool(profile.converted) if profile is not None else None,
    )


def leak_figures(runtime, profiles: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The week's live Revenue Leak Score beside the data set's own handling."""
    from firsttouch.demo.as_handled import record_for, records_as_handled
    from firsttouch.insights.live import leak_score_from_store
    from firsttouch.insights.report import report_from_records

    now = runtime.clock.now()
    week = leak_score_from_store(runtime, now=now)

    rows, seen = [], set()
    with runtime.db.sessions() as session:
        leads = session.execute(
            select(Inbound.received_at, Inbound.channel, Inbound.fields)
            .where(Inbound.first_touch_due_at.is_not(None))
            .order_by(Inbound.id)
        ).all()
    for received, channel, fields in leads:
        row_id = str((fields or {}).get("dataset_row"))
        profile = profiles.get(row_id)
        if profile is None or row_id in seen:
            continue
        seen.add(row_id)
        rows.append(record_for(profile, received, channel))
    handled = report_from_records(records_as_handled(rows), as_of=now) if rows else None
    return _leak_summary(week), _leak_summary(handled)


def _leak_summary(report: Any) -> dict[str, Any] | None:
    if report is None:
        return None
    leak = report.biggest_leak
    return {
        "biggest": leak.layer if leak else None,
        "headline": leak.headline if leak else report.no_leak_reason,
        "layers": {layer.layer: layer.score for layer in report.layers},
        "no_data": {
            layer.layer: layer.no_data_reason
            for layer in report.layers
            if layer.score is None
        },
        "records": report.records,
    }
