"""Poll the lead-ad sources with a cursor, so a webhook that is down loses no lead.

Meta Lead Ads and LinkedIn Lead Gen push each lead to a webhook, and a
webhook can be down for hours (or, on LinkedIn, never validated). So each
configured target, a Meta lead form or a LinkedIn ad account or
organization, is also polled on a durable job cycle: its list endpoint is
asked for the leads created since the newest one captured, less
``OVERLAP``, and every lead
goes through ``ingest`` as the same event the webhook would have made.
The dedupe key is the webhook's (``meta:leadgen:<id>``,
``linkedin:<response urn>:created``), so the overlap, and a lead that the
webhook already brought, cost nothing.

The cursor (``lead_poll_cursors``) moves only after every lead up to it is
committed: a poll cut short by an error is simply asked again. Throttling
and provider outages (429, 5xx) come back after the provider's
``Retry-After`` (or the job backoff, whichever is longer); a refused token
is logged naming the variable to fix, and the cycle goes on.

Settings (environment; secrets never in the workspace):

- ``META_LEAD_FORMS``: lead form ids, comma separated, each optionally
  ``PAGE_ID/FORM_ID``. The token is ``META_PAGE_ACCESS_TOKEN``, or
  ``META_PAGE_ACCESS_TOKEN_<PAGE_ID>`` when that is set.
- ``LINKEDIN_AD_ACCOUNTS``: sponsored ad account ids (or their URNs),
  comma separated, read with ``LINKEDIN_ACCESS_TOKEN``; polled for SPONSORED
  leads, the ones from ads.
- ``LINKEDIN_ORGANIZATIONS``: organization ids (or their URNs), comma
  separated, same token; polled for the organic lead types, from an event
  page (EVENT), a company page (COMPANY) or a product page
  (ORGANIZATION_PRODUCT).

Which lead types are polled at all is the workspace's
``capture.linkedin.lead_types`` (every type unless narrowed). Each poll of
a LinkedIn owner asks the finder for each of its types over the same
window, and the owner's one cursor moves after all of them, so a quiet
type never makes a busy one skip a window.
- ``LEAD_ADS_POLL_SECONDS``: how often each target is polled (300).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.ingest import ingest
from firsttouch.capture.providers import linkedin, meta_leads
from firsttouch.capture.providers.config import (
    graph_url,
    linkedin_url,
    optional_secret,
)
from firsttouch.capture.providers.linkedin_api import (
    LinkedInApiError,
    LinkedInLeadClient,
)
from firsttouch.capture.providers.meta_graph import GraphClient, GraphError
from firsttouch.capture.providers.payloads import from_epoch, from_iso
from firsttouch.config import Secret, Settings
from firsttouch.errors import ConfigError, FirsttouchError, InputError
from firsttouch.jobs.backoff import retry_delay
from firsttouch.jobs.queue import enqueue
from firsttouch.logs import get_logger
from firsttouch.store.models import LeadPollCursor
from firsttouch.workspace.capture import (
    LINKEDIN_LEAD_TYPES,
    ORGANIC_LEAD_TYPES,
    SPONSORED,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from firsttouch.runtime import Runtime
    from firsttouch.workspace import Workspace

log = get_logger(__name__)

LEAD_POLL_KIND = "capture.lead_poll"
# A lead the provider writes a little late still falls inside the next window.
OVERLAP = timedelta(minutes=5)
# How far back a target's very first poll reaches; older leads are for
# `firsttouch reconcile --fix`, a deliberate choice, not a side effect.
FIRST_LOOKBACK = timedelta(hours=24)
DEFAULT_INTERVAL_SECONDS = 300
MIN_INTERVAL_SECONDS = 60
# Retries of one throttled poll before it is left to the next cycle.
MAX_RETRIES = 5
SOURCE_NAMES = {"meta": "Meta Lead Ads", "linkedin": "LinkedIn Lead Gen"}
_DIGITS = re.compile(r"^\d+$")
_ACCOUNT_URN = "urn:li:sponsoredAccount:"
_ORGANIZATION_URN = "urn:li:organization:"


class LeadPollError(FirsttouchError):
    """A provider did not list its leads; says what to fix, or whether to wait."""

    code = "lead_poll_failed"
    status = 502

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        token_refused: bool = False,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.token_refused = token_refused


@dataclass(frozen=True)
class PollTarget:
    """One thing to poll: a Meta lead form, a LinkedIn ad account or organization.

    ``lead_types`` are the LinkedIn lead types asked of the owner; empty
    means every type that kind of owner has.
    """

    provider: str
    target: str
    token_var: str
    page_id: str | None = None
    lead_types: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if self.provider == "meta":
            return f"Meta lead form {self.target}"
        if self.target.startswith(_ORGANIZATION_URN):
            organization = self.target.removeprefix(_ORGANIZATION_URN)
            return f"LinkedIn organization {organization}"
        return f"LinkedIn ad account {self.target.removeprefix(_ACCOUNT_URN)}"

    def linkedin_lead_types(self) -> tuple[str, ...]:
        """The lead types to ask the finder for, in LinkedIn's order."""
        if self.lead_types:
            return self.lead_types
        if self.target.startswith(_ORGANIZATION_URN):
            return ORGANIC_LEAD_TYPES
        return (SPONSORED,)


@dataclass(frozen=True)
class ProviderLead:
    """One lead as the provider lists it: its key here, when it was made."""

    key: str
    created_at: datetime | None
    record: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class PollResult:
    """What one poll of one target did."""

    seen: int
    captured: int
    duplicates: int
    cursor: datetime | None


# -- settings -----------------------------------------------------------------


def poll_targets(
    settings: Settings, workspace: Workspace | None = None
) -> list[PollTarget]:
    """Every target the environment names, Meta forms first.

    ``workspace`` says which LinkedIn lead types to poll (all without one).
    """
    lead_types = (
        tuple(workspace.capture.linkedin.lead_types)
        if workspace is not None
        else LINKEDIN_LEAD_TYPES
    )
    return meta_targets(settings) + linkedin_targets(settings, lead_types)


def meta_targets(settings: Settings) -> list[PollTarget]:
    """The lead forms ``META_LEAD_FORMS`` lists, each with its token's variable."""
    targets = []
    for entry in _entries(settings.env.get("META_LEAD_FORMS")):
        page_id, _, form_id = entry.rpartition("/")
        if not _DIGITS.match(form_id) or (page_id and not _DIGITS.match(page_id)):
            raise ConfigError(
                f"META_LEAD_FORMS: {entry!r} is not FORM_ID or PAGE_ID/FORM_ID "
                "(the numeric ids Meta shows in the form's and the Page's settings)"
            )
        page_var = f"META_PAGE_ACCESS_TOKEN_{page_id}"
        token_var = (
            page_var
            if page_id and settings.env.get(page_var)
            else "META_PAGE_ACCESS_TOKEN"
        )
        targets.append(PollTarget("meta", form_id, token_var, page_id or None))
    return targets


def linkedin_targets(
    settings: Settings, lead_types: tuple[str, ...] = LINKEDIN_LEAD_TYPES
) -> list[PollTarget]:
    """The ad accounts and organizations the environment lists, as URNs.

    Each is polled for the ``lead_types`` its kind of owner has; an owner
    listed with none of its types wanted is a configuration error, not a
    silence.
    """
    accounts = _owner_urns(
        settings,
        "LINKEDIN_AD_ACCOUNTS",
        _ACCOUNT_URN,
        "an ad account id (the number Campaign Manager shows) or "
        "urn:li:sponsoredAccount:<id>",
    )
    organizations = _owner_urns(
        settings,
        "LINKEDIN_ORGANIZATIONS",
        _ORGANIZATION_URN,
        "an organization id (the number in the Page's admin URL) or "
        "urn:li:organization:<id>",
    )
    sponsored = tuple(t for t in lead_types if t == SPONSORED)
    organic = tuple(t for t in lead_types if t in ORGANIC_LEAD_TYPES)
    _require_types(accounts, sponsored, "LINKEDIN_AD_ACCOUNTS", (SPONSORED,))
    _require_types(organizations, organic, "LINKEDIN_ORGANIZATIONS", ORGANIC_LEAD_TYPES)

    owners = [(urn, sponsored) for urn in accounts]
    owners += [(urn, organic) for urn in organizations]
    token_var = "LINKEDIN_ACCESS_TOKEN"  # noqa: S105 - a variable's name
    return [
        PollTarget("linkedin", urn, token_var, lead_types=types)
        for urn, types in owners
    ]


def _owner_urns(settings: Settings, name: str, prefix: str, expected: str) -> list[str]:
    urns = []
    for entry in _entries(settings.env.get(name)):
        number = entry.removeprefix(prefix)
        if not _DIGITS.match(number):
            raise ConfigError(f"{name}: {entry!r} is not {expected}")
        urns.append(prefix + number)
    return urns


def _require_types(
    owners: list[str], chosen: tuple[str, ...], name: str, possible: tuple[str, ...]
) -> None:
    if owners and not chosen:
        raise ConfigError(
            f"{name} lists owners whose lead types ({', '.join(possible)}) are all "
            "left out of capture.linkedin.lead_types in the workspace; add one "
            f"or unset {name}"
        )


def _entries(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def poll_interval(settings: Settings) -> timedelta:
    raw = settings.env.get("LEAD_ADS_POLL_SECONDS") or str(DEFAULT_INTERVAL_SECONDS)
    try:
        seconds = max(MIN_INTERVAL_SECONDS, int(raw))
    except ValueError:
        raise ConfigError(
            f"LEAD_ADS_POLL_SECONDS must be a whole number of seconds, got {raw!r}"
        ) from None
    return timedelta(seconds=seconds)


# -- the providers' lists -----------------------------------------------------


class LeadSource(Protocol):
    """A target's list endpoint, and the event each listed lead makes."""

    def leads(self, since: datetime, until: datetime | None) -> Iterator[ProviderLead]:
        """Every lead created after ``since`` (and before ``until``), page by page."""
        ...

    def event(self, lead: ProviderLead) -> InboundEvent: ...

    def close(self) -> None: ...


def _token(settings: Settings, target: PollTarget) -> Secret:
    token = optional_secret(settings, target.token_var)
    if token is None:
        raise LeadPollError(
            f"{target.label} cannot be polled: set {target.token_var} in the "
            "environment of firsttouch and restart it",
            retryable=False,
            token_refused=True,
        )
    return token


class MetaSource:
    """A lead form's ``/{form_id}/leads`` list on the Graph API."""

    def __init__(self, settings: Settings, target: PollTarget, page_size: int):
        self._target = target
        self._page_size = page_size
        self._graph = GraphClient(
            graph_url(settings),
            _token(settings, target),
            app_secret=optional_secret(settings, "META_APP_SECRET"),
        )

    def leads(self, since: datetime, until: datetime | None) -> Iterator[ProviderLead]:
        after: str | None = None
        while True:
            page = self._call(since, until, after)
            for lead in page.leads:
                key = f"meta:leadgen:{lead.get('id')}"
                yield ProviderLead(key, from_iso(lead.get("created_time")), lead)
            if page.after is None:
                return
            after = page.after

    def _call(self, since: datetime, until: datetime | None, after: str | None) -> Any:
        try:
            return self._graph.list_leads(
                self._target.target,
                created_after=since,
                created_before=until,
                after=after,
                page_size=self._page_size,
            )
        except GraphError as exc:
            raise _poll_error(self._target, exc, "a Page access token") from exc

    def event(self, lead: ProviderLead) -> InboundEvent:
        return meta_leads.polled_lead_event(
            lead.record, form_id=self._target.target, page_id=self._target.page_id
        )

    def close(self) -> None:
        self._graph.close()


class LinkedInSource:
    """An ad account's responses from the Lead Sync ``q=owner`` finder."""

    def __init__(
        self, settings: Settings, target: PollTarget, page_size: int, now: datetime
    ):
        self._target = target
        self._page_size = page_size
        self._now = now
        self._api = LinkedInLeadClient(linkedin_url(settings), _token(settings, target))
        self._forms: dict[str, dict[str, Any]] = {}

    def leads(self, since: datetime, until: datetime | None) -> Iterator[ProviderLead]:
        # The finder wants both ends; "up to now" reaches a little past our
        # clock, in case LinkedIn's runs ahead of it.
        end = until or self._now + OVERLAP
        for lead_type in self._target.linkedin_lead_types():
            yield from self._leads_of_type(lead_type, since, end)

    def _leads_of_type(
        self, lead_type: str, since: datetime, end: datetime
    ) -> Iterator[ProviderLead]:
        start: int | None = 0
        while start is not None:
            page = self._guarded(
                lambda at=start: self._api.find_responses(
                    self._target.target,
                    submitted_from=since,
                    submitted_to=end,
                    lead_type=lead_type,
                    start=at,
                    page_size=self._page_size,
                ),
                lead_type,
            )
            for response in page.responses:
                key = linkedin_key(response)
                yield ProviderLead(
                    key, from_epoch(response.get("submittedAt")), response
                )
            start = page.next_start

    def event(self, lead: ProviderLead) -> InboundEvent:
        form_urn = str(lead.record.get("versionedLeadGenFormUrn") or "")
        if form_urn not in self._forms:
            self._forms[form_urn] = self._form(form_urn)
        return linkedin.response_event(lead.record, self._forms[form_urn])

    def _form(self, form_urn: str) -> dict[str, Any]:
        """The form's questions; none when LinkedIn will not give them.

        A form we may not read must not cost its leads: they are stored with
        their answers by question id, as the webhook stores a lead it could
        not complete. Only a busy LinkedIn makes the poll wait.
        """
        try:
            return self._api.fetch_form(form_urn)
        except LinkedInApiError as exc:
            if exc.retryable:
                raise _poll_error(self._target, exc, "an access token") from exc
            log.warning(
                "lead_poll.form_unreadable",
                target=self._target.target,
                form=form_urn,
                reason=str(exc),
            )
            return {}

    def _guarded(self, call: Any, lead_type: str) -> Any:
        try:
            return call()
        except LinkedInApiError as exc:
            raise _poll_error(
                self._target, exc, "an access token", f"{lead_type} leads"
            ) from exc

    def close(self) -> None:
        self._api.close()


def linkedin_key(response: dict[str, Any]) -> str:
    """The key the webhook's CREATED notification of this response gets."""
    response_id = str(response.get("id") or "")
    urn = (
        response_id
        if response_id.startswith("urn:li:")
        else linkedin.RESPONSE_URN_PREFIX + response_id
    )
    return f"linkedin:{urn}:created"


def _poll_error(
    target: PollTarget,
    exc: GraphError | LinkedInApiError,
    what: str,
    listing: str | None = None,
) -> LeadPollError:
    label = f"{target.label} ({listing})" if listing else target.label
    message = f"{label}: {exc}"
    if exc.token_refused:
        message += (
            f"; the token in {target.token_var} was refused: put {what} with "
            f"lead access in {target.token_var} and restart firsttouch"
        )
    return LeadPollError(
        message,
        retryable=exc.retryable,
        retry_after=exc.retry_after,
        token_refused=exc.token_refused,
    )


def open_source(
    runtime: Runtime, target: PollTarget, *, page_size: int = 100
) -> LeadSource:
    """The list endpoint of ``target``, with its token (or a clear error)."""
    if target.provider == "meta":
        return MetaSource(runtime.settings, target, page_size)
    return LinkedInSource(runtime.settings, target, page_size, runtime.clock.now())


# -- one poll -----------------------------------------------------------------


def poll_target(runtime: Runtime, target: PollTarget) -> PollResult:
    """Capture every lead of ``target`` newer than its cursor, then move the cursor.

    Each lead is committed on its own; the cursor moves after the last, so
    a poll cut short is asked again from the same place.
    """
    cursor = read_cursor(runtime, target)
    since = cursor - OVERLAP if cursor else runtime.clock.now() - FIRST_LOOKBACK
    newest, seen, captured = cursor, 0, 0
    source = open_source(runtime, target)
    try:
        for lead in source.leads(since, None):
            seen += 1
            captured += _capture(runtime, source, lead)
            if lead.created_at and (newest is None or lead.created_at > newest):
                newest = lead.created_at
    finally:
        source.close()

    if newest is not None and newest != cursor:
        advance_cursor(runtime, target, newest)
    if captured:
        log.info(
            "lead_poll.captured",
            provider=target.provider,
            target=target.target,
            seen=seen,
            captured=captured,
        )
    return PollResult(seen, captured, seen - captured, newest)


def _capture(runtime: Runtime, source: LeadSource, lead: ProviderLead) -> bool:
    """Store one listed lead; True when it was new here."""
    try:
        event = source.event(lead)
    except InputError as exc:
        # One unreadable record must not hold back the leads after it.
        log.error("lead_poll.unreadable_lead", key=lead.key, reason=str(exc))
        return False
    return not ingest(runtime, event).duplicate


def read_cursor(runtime: Runtime, target: PollTarget) -> datetime | None:
    with runtime.db.sessions() as session:
        row = _cursor_row(session, target)
        return row.last_created_at if row else None


def advance_cursor(runtime: Runtime, target: PollTarget, newest: datetime) -> None:
    """Move the cursor forward to ``newest`` (never back, whoever wrote last)."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        row = _cursor_row(session, target, lock=True)
        if row is None:
            session.add(
                LeadPollCursor(
                    provider=target.provider,
                    target=target.target,
                    last_created_at=newest,
                    updated_at=now,
                )
            )
        elif newest > row.last_created_at:
            row.last_created_at = newest
            row.updated_at = now


def _cursor_row(
    session: Session, target: PollTarget, *, lock: bool = False
) -> LeadPollCursor | None:
    query = select(LeadPollCursor).where(
        LeadPollCursor.provider == target.provider,
        LeadPollCursor.target == target.target,
    )
    return session.scalar(query.with_for_update() if lock else query)


# -- the job cycle ------------------------------------------------------------


def schedule_lead_polling(runtime: Runtime) -> list[PollTarget]:
    """Start a polling cycle for each configured target; return the targets.

    Called by ``serve`` and ``worker`` at start-up. Each key names the
    target and the current interval, so processes starting together queue
    one poll per target, and a cycle already running simply carries on.
    """
    targets = poll_targets(runtime.settings, runtime.workspace)
    if not targets:
        return []
    interval = poll_interval(runtime.settings)
    now = runtime.clock.now()
    slot = _slot(now, interval)
    with runtime.db.transaction() as session:
        for target in targets:
            _enqueue(runtime, session, target, interval, slot, due=now)
    return targets


def run_poll_job(runtime: Runtime, payload: dict[str, Any]) -> None:
    """One job of a target's cycle: queue the next one, then poll.

    The next poll is queued first, in its own transaction, so a provider
    that fails today never ends the cycle. A retry of a throttled poll
    (``retry`` in the payload) queues no next poll: its cycle already did.
    """
    target = _configured(runtime, payload)
    if target is None:
        log.info(
            "lead_poll.stopped",
            provider=payload.get("provider"),
            target=payload.get("target"),
            reason="no longer in META_LEAD_FORMS, LINKEDIN_AD_ACCOUNTS or "
            "LINKEDIN_ORGANIZATIONS",
        )
        return
    interval = poll_interval(runtime.settings)
    slot = int(payload.get("slot") or _slot(runtime.clock.now(), interval))
    retry = int(payload.get("retry") or 0)
    if not retry:
        _queue_next(runtime, target, interval, slot)
    try:
        poll_target(runtime, target)
    except LeadPollError as exc:
        _after_failure(runtime, target, interval, slot, retry, exc)


def _configured(runtime: Runtime, payload: dict[str, Any]) -> PollTarget | None:
    for target in poll_targets(runtime.settings, runtime.workspace):
        if (target.provider, target.target) == (
            payload.get("provider"),
            payload.get("target"),
        ):
            return target
    return None


def _queue_next(
    runtime: Runtime, target: PollTarget, interval: timedelta, slot: int
) -> None:
    # The slot after this job's, or after the current one when the job ran
    # late: a cycle never replays the intervals a stopped worker missed.
    now = runtime.clock.now()
    following = max(slot + 1, _slot(now, interval) + 1)
    due = datetime.fromtimestamp(following * interval.total_seconds(), now.tzinfo)
    with runtime.db.transaction() as session:
        _enqueue(runtime, session, target, interval, following, due=due)


def _after_failure(
    runtime: Runtime,
    target: PollTarget,
    interval: timedelta,
    slot: int,
    retry: int,
    exc: LeadPollError,
) -> None:
    if not exc.retryable or retry >= MAX_RETRIES:
        log.error(
            "lead_poll.failed",
            provider=target.provider,
            target=target.target,
            token_refused=exc.token_refused,
            reason=str(exc),
            next_poll="the next interval",
        )
        return
    wait = max(exc.retry_after or 0.0, retry_delay(retry + 1).total_seconds())
    log.warning(
        "lead_poll.retry_later",
        provider=target.provider,
        target=target.target,
        retry=retry + 1,
        wait_seconds=round(wait, 1),
        reason=str(exc),
    )
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        _enqueue(
            runtime,
            session,
            target,
            interval,
            slot,
            due=now + timedelta(seconds=wait),
            retry=retry + 1,
        )


def _slot(moment: datetime, interval: timedelta) -> int:
    return int(moment.timestamp() // interval.total_seconds())


def _enqueue(
    runtime: Runtime,
    session: Session,
    target: PollTarget,
    interval: timedelta,
    slot: int,
    *,
    due: datetime,
    retry: int = 0,
) -> None:
    seconds = int(interval.total_seconds())
    key = f"lead_poll:{target.provider}:{target.target}:{seconds}s:{slot}"
    payload: dict[str, Any] = {
        "provider": target.provider,
        "target": target.target,
        "slot": slot,
    }
    if retry:
        key += f":retry{retry}"
        payload["retry"] = retry
    enqueue(
        session,
        LEAD_POLL_KIND,
        payload,
        key=key,
        due_at=due,
        now=runtime.clock.now(),
    )
