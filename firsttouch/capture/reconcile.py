"""Count, per source and day, the leads each provider holds against ours.

``firsttouch reconcile`` asks each configured lead-ad target (the targets
cursor polling uses) for its leads in a date range, through the same list
endpoints, and compares them lead by lead with the inbounds stored here.
Days are UTC dates of when the provider says the lead was submitted; the
firsttouch column counts the inbounds of those targets by the same time
(the provider's, kept as ``occurred_at``; the time we received them when a
provider gave none), so a lead captured after midnight by a late poll is
counted on the day its buyer sent it. A lead is missing when no inbound
carries its key, whatever day it arrived. Nothing is written unless
``fix`` is asked for: then each missing lead is ingested as the webhook
or a poll would have.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select

from firsttouch.capture.ingest import ingest
from firsttouch.capture.polling import (
    SOURCE_NAMES,
    LeadPollError,
    PollTarget,
    ProviderLead,
    open_source,
    poll_targets,
)
from firsttouch.store.models import Inbound

if TYPE_CHECKING:
    from firsttouch.runtime import Runtime

# What the firsttouch column counts, per provider: its dedupe key shape.
KEY_PATTERNS = {"meta": "meta:leadgen:%", "linkedin": "linkedin:%:created"}
# Which stored field names the target an inbound came from.
TARGET_FIELDS = {"meta": "form_id", "linkedin": "owner_urn"}
# Keys looked up per query (well under SQLite's bound-parameter limit).
LOOKUP_CHUNK = 500
# Missing leads named one by one in the report; past this, a count.
SHOWN_MISSING = 10
SHORT_NAMES = {"meta": "Meta", "linkedin": "LinkedIn"}


@dataclass
class DayRow:
    """One day of one source: what the provider holds, what we have."""

    day: date
    provider: int = 0
    firsttouch: int = 0
    missing: int = 0


@dataclass
class SourceReport:
    """One provider's days, the leads missing here, and what went wrong."""

    provider: str
    targets: list[PollTarget]
    days: list[DayRow] = field(default_factory=list)
    missing: list[ProviderLead] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    fixed: int = 0

    @property
    def name(self) -> str:
        return SOURCE_NAMES[self.provider]


@dataclass
class Reconciliation:
    """The whole run: its range and one report per source."""

    since: date
    until: date
    sources: list[SourceReport]
    fixing: bool

    @property
    def missing(self) -> int:
        return sum(len(s.missing) for s in self.sources)

    @property
    def fixed(self) -> int:
        return sum(s.fixed for s in self.sources)

    @property
    def failed(self) -> bool:
        return any(s.errors for s in self.sources)


def reconcile(
    runtime: Runtime,
    since: date,
    until: date,
    *,
    providers: Iterable[str] = ("meta", "linkedin"),
    fix: bool = False,
) -> Reconciliation:
    """Compare each configured source with firsttouch over ``since..until``."""
    wanted = set(providers)
    configured = poll_targets(runtime.settings, runtime.workspace)
    targets = [t for t in configured if t.provider in wanted]
    reports = []
    for provider in ("meta", "linkedin"):
        mine = [t for t in targets if t.provider == provider]
        if mine:
            reports.append(
                _reconcile_source(runtime, provider, mine, since, until, fix)
            )
    return Reconciliation(since, until, reports, fix)


def _window(since: date, until: date) -> tuple[datetime, datetime]:
    start = datetime.combine(since, time.min, UTC)
    return start, datetime.combine(until, time.min, UTC) + timedelta(days=1)


def _reconcile_source(
    runtime: Runtime,
    provider: str,
    targets: list[PollTarget],
    since: date,
    until: date,
    fix: bool,
) -> SourceReport:
    report = SourceReport(provider, targets)
    start, end = _window(since, until)
    held: list[ProviderLead] = []
    for target in targets:
        try:
            held += _reconcile_target(runtime, target, start, end, report, fix)
        except LeadPollError as exc:
            report.errors.append(str(exc))
    stored = _stored_days(runtime, report, start, end)
    report.days = _days(since, until, held, report.missing, stored)
    return report


def _reconcile_target(
    runtime: Runtime,
    target: PollTarget,
    start: datetime,
    end: datetime,
    report: SourceReport,
    fix: bool,
) -> list[ProviderLead]:
    """The target's leads in the window; its missing ones noted (and stored)."""
    source = open_source(runtime, target)
    try:
        # Graph's filter is strict; a second earlier takes midnight itself.
        listed = source.leads(start - timedelta(seconds=1), end)
        held = [lead for lead in listed if _inside(lead, start, end)]
        known = _known_keys(runtime, [lead.key for lead in held])
        missing = [lead for lead in held if lead.key not in known]
        report.missing += missing
        if fix:
            for lead in missing:
                report.fixed += not ingest(runtime, source.event(lead)).duplicate
    finally:
        source.close()
    return held


def _inside(lead: ProviderLead, start: datetime, end: datetime) -> bool:
    return lead.created_at is not None and start <= lead.created_at < end


def _known_keys(runtime: Runtime, keys: list[str]) -> set[str]:
    known: set[str] = set()
    with runtime.db.sessions() as session:
        for at in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[at : at + LOOKUP_CHUNK]
            known.update(
                session.scalars(
                    select(Inbound.dedupe_key).where(Inbound.dedupe_key.in_(chunk))
                )
            )
    return known


def _stored_days(
    runtime: Runtime, report: SourceReport, start: datetime, end: datetime
) -> Counter[date]:
    """Our inbounds of the report's targets, counted by the day the lead was made."""
    occurred, received = Inbound.occurred_at, Inbound.received_at
    query = select(occurred, received, Inbound.fields).where(
        Inbound.provider == report.provider,
        Inbound.dedupe_key.like(KEY_PATTERNS[report.provider]),
        or_(
            and_(occurred.is_not(None), occurred >= start, occurred < end),
            and_(occurred.is_(None), received >= start, received < end),
        ),
    )
    names = {t.target for t in report.targets}
    days: Counter[date] = Counter()
    with runtime.db.sessions() as session:
        for made, got, fields in session.execute(query):
            if _from_targets(fields, TARGET_FIELDS[report.provider], names):
                days[(made or got).astimezone(UTC).date()] += 1
    return days


def _from_targets(fields: dict[str, Any] | None, name: str, targets: set[str]) -> bool:
    # An inbound that does not say where it came from is counted: it cannot
    # be told apart, and leaving it out would make a gap that is not there.
    value = (fields or {}).get(name)
    return value is None or str(value) in targets


def _days(
    since: date,
    until: date,
    held: list[ProviderLead],
    missing: list[ProviderLead],
    stored: Counter[date],
) -> list[DayRow]:
    """One row per day of the range, every lead on its UTC day."""
    provider, lost = _per_day(held), _per_day(missing)
    days = (since + timedelta(days=n) for n in range((until - since).days + 1))
    return [DayRow(d, provider[d], stored[d], lost[d]) for d in days]


def _per_day(leads: list[ProviderLead]) -> Counter[date]:
    return Counter(
        lead.created_at.astimezone(UTC).date()
        for lead in leads
        if lead.created_at is not None
    )


# -- the report ---------------------------------------------------------------


def render(result: Reconciliation) -> str:
    """The report as a sales-ops person reads it: one table per source."""
    lines = [
        f"Lead ads: what each provider holds against firsttouch, "
        f"{result.since} to {result.until}",
        "Days are UTC dates of when the buyer submitted the lead.",
        "",
    ]
    for source in result.sources:
        lines += _render_source(source, result.fixing)
        lines.append("")
    lines.append(_verdict(result))
    return "\n".join(lines)


def _render_source(source: SourceReport, fixing: bool) -> list[str]:
    short = SHORT_NAMES[source.provider]
    names = ", ".join(t.label.split()[-1] for t in source.targets)
    kind = "lead forms" if source.provider == "meta" else "ad accounts"
    header = (f"at {short}", "in firsttouch", "missing")
    total = DayRow(date.min)
    for row in source.days:
        total.provider += row.provider
        total.firsttouch += row.firsttouch
        total.missing += row.missing
    lines = [f"{source.name} ({kind} {names})", _row("day (UTC)", header)]
    lines += [_row(str(row.day), _cells(row, source)) for row in source.days]
    lines.append(_row("total", _cells(total, source)))
    lines += _missing_lines(source, fixing)
    lines += [f"  could not ask {short}: {error}" for error in source.errors]
    return lines


def _cells(row: DayRow, source: SourceReport) -> tuple[object, ...]:
    # A source that could not be asked has no count to show, not zero.
    if source.errors:
        return ("?", row.firsttouch, "?")
    return (row.provider, row.firsttouch, row.missing)


def _row(first: str, cells: tuple[object, ...]) -> str:
    return f"  {first:<12}" + "".join(f"{cell!s:>15}" for cell in cells)


def _missing_lines(source: SourceReport, fixing: bool) -> list[str]:
    label = "captured now" if fixing else "missing"
    shown = [
        f"  {label}: lead {lead.key.split(':', 2)[-1].removesuffix(':created')}, "
        f"submitted {lead.created_at:%Y-%m-%d %H:%M} UTC"
        for lead in source.missing[:SHOWN_MISSING]
        if lead.created_at is not None
    ]
    more = len(source.missing) - len(shown)
    return shown + ([f"  ... and {more} more"] if more > 0 else [])


def _verdict(result: Reconciliation) -> str:
    lines = []
    if result.failed:
        lines.append(
            "Some sources could not be checked (see above): fix what the error "
            "names, or try again later."
        )
    if result.missing and result.fixing:
        others = result.missing - result.fixed
        lines.append(
            f"Captured {result.fixed} missing {_leads(result.fixed)} now; "
            "they get their first response like any new lead."
            + (f" {others} arrived meanwhile by webhook or poll." if others else "")
        )
    elif result.missing:
        one = result.missing == 1
        lines.append(
            f"{result.missing} {_leads(result.missing)} held by the providers "
            f"{'is' if one else 'are'} not in firsttouch. Run the same command "
            f"with --fix to capture {'it' if one else 'them'}."
        )
    elif not result.failed:
        lines.append("Every lead the providers hold is in firsttouch.")
    return "\n".join(lines)


def _leads(count: int) -> str:
    return "lead" if count == 1 else "leads"
