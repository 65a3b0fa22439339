"""The one-click things a person does to a lead, each logged as it happens.

Every action runs in one transaction: the change, an ``Activity`` on the
contact's timeline and, when the owner changes, a ``RoutingDecision`` naming
who did it. A lead the user may not see raises ``NotFoundError`` exactly as a
missing one does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from firsttouch.clock import Clock
from firsttouch.errors import InputError, NotFoundError
from firsttouch.logs import get_logger
from firsttouch.store.db import Database
from firsttouch.store.models import Activity, Contact, Inbound, RoutingDecision, Task
from firsttouch.web.dashboard.queries import SNOOZE_TASK_PREFIX
from firsttouch.web.dashboard.timeline import DASHBOARD_RULE_PREFIX
from firsttouch.web.dashboard.visibility import may_see
from firsttouch.web.sessions import DashboardUser
from firsttouch.workspace import Workspace

log = get_logger(__name__)

SNOOZE_CHOICES = {
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
}
DISQUALIFY_REASONS = (
    "not a fit",
    "competitor",
    "student or job seeker",
    "spam",
    "no budget",
    "duplicate",
    "other",
)
MAX_REASON_LENGTH = 500
OWNER_STATUS = {"claimed": "claimed", "reassigned": "assigned"}


class LeadActions:
    """Claim, call, snooze, reassign and disqualify, for one user."""

    def __init__(
        self, db: Database, workspace: Workspace, clock: Clock, user: DashboardUser
    ):
        self.db = db
        self.workspace = workspace
        self.clock = clock
        self.user = user

    def claim(self, inbound_id: int) -> None:
        """Make the user the lead's owner."""
        if not self.user.rep_id:
            raise InputError(
                "your account is not linked to a rep, so it cannot own "
                "leads; ask an admin to set your rep id",
                field="rep_id",
            )
        with self.db.transaction() as session:
            inbound = self._load(session, inbound_id)
            self._set_owner(
                session,
                inbound,
                self.user.rep_id,
                "claimed",
                f"claimed by {self.user.name}",
            )

    def reassign(self, inbound_id: int, rep_id: str) -> None:
        """Give the lead to ``rep_id``, a rep of the workspace."""
        rep = self.workspace.team.rep(rep_id)
        if rep is None:
            raise InputError(f"{rep_id!r} is not a rep of this team", field="rep_id")
        with self.db.transaction() as session:
            inbound = self._load(session, inbound_id)
            self._set_owner(
                session,
                inbound,
                rep.id,
                "reassigned",
                f"reassigned to {rep.name} by {self.user.name}",
            )

    def log_call(self, inbound_id: int, note: str = "") -> None:
        """Record that the user called the lead: the human touch is made."""
        with self.db.transaction() as session:
            inbound = self._load(session, inbound_id)
            now = self.clock.now()
            if inbound.human_touch_at is None:
                inbound.human_touch_at = now
            inbound.status = "contacted"
            self._activity(
                session,
                inbound,
                "call.logged",
                f"call logged by {self.user.name}",
                {"note": note[:MAX_REASON_LENGTH]},
            )

    def snooze(self, inbound_id: int, choice: str) -> datetime:
        """Put the lead aside until a chosen time; return that time."""
        delta = SNOOZE_CHOICES.get(choice)
        if delta is None:
            raise InputError(
                f"snooze for one of {', '.join(SNOOZE_CHOICES)}", field="until"
            )
        until = self.clock.now() + delta
        with self.db.transaction() as session:
            inbound = self._load(session, inbound_id)
            session.add(
                Task(
                    contact_id=inbound.contact_id,
                    owner_id=inbound.owner_id or self.user.rep_id,
                    title=f"{SNOOZE_TASK_PREFIX}: call back about inbound {inbound.id}",
                    due_at=until,
                    created_at=self.clock.now(),
                )
            )
            self._activity(
                session,
                inbound,
                "lead.snoozed",
                f"snoozed until {until:%Y-%m-%d %H:%M} UTC by {self.user.name}",
                {"until": until.isoformat()},
            )
        return until

    def disqualify(self, inbound_id: int, reason: str, note: str = "") -> None:
        """Close the lead as not worth pursuing, with the reason why."""
        reason = reason.strip()
        if reason not in DISQUALIFY_REASONS:
            raise InputError(
                "choose a reason for disqualifying this lead", field="reason"
            )
        with self.db.transaction() as session:
            inbound = self._load(session, inbound_id)
            inbound.status = "disqualified"
            contact = (
                session.get(Contact, inbound.contact_id) if inbound.contact_id else None
            )
            if contact is not None:
                contact.status = "disqualified"
            full = f"{reason}: {note.strip()}" if note.strip() else reason
            self._activity(
                session,
                inbound,
                "stage.disqualified",
                f"disqualified by {self.user.name}",
                {"reason": full[:MAX_REASON_LENGTH]},
            )

    # The steps every action shares.

    def _load(self, session: Session, inbound_id: int) -> Inbound:
        inbound = session.scalar(select(Inbound).where(Inbound.id == inbound_id))
        if inbound is None or not may_see(self.user, self.workspace, inbound.owner_id):
            raise NotFoundError(f"no lead {inbound_id}")
        return inbound

    def _set_owner(
        self, session: Session, inbound: Inbound, owner: str, verb: str, summary: str
    ) -> None:
        previous = inbound.owner_id
        inbound.owner_id = owner
        # A person chose this owner: capture's idle-owner reassignment, which
        # acts only on "new" and "open" inbounds, must leave it alone.
        if inbound.status in ("new", "open"):
            inbound.status = OWNER_STATUS[verb]
        if inbound.contact_id is not None:
            contact = session.get(Contact, inbound.contact_id)
            if contact is not None:
                contact.owner_id = owner
        session.add(
            RoutingDecision(
                inbound_id=inbound.id,
                contact_id=inbound.contact_id,
                owner_id=owner,
                previous_owner_id=previous,
                rule=f"{DASHBOARD_RULE_PREFIX}{verb}",
                reason=summary,
                skipped=[],
                created_at=self.clock.now(),
            )
        )
        self._activity(
            session, inbound, f"owner.{verb}", summary, {"from": previous, "to": owner}
        )

    def _activity(
        self,
        session: Session,
        inbound: Inbound,
        kind: str,
        summary: str,
        details: dict[str, object],
    ) -> None:
        now = self.clock.now()
        session.add(
            Activity(
                contact_id=inbound.contact_id,
                inbound_id=inbound.id,
                kind=kind,
                actor=self.user.name,
                summary=summary,
                details=details,
                occurred_at=now,
                created_at=now,
            )
        )
        log.info(
            "lead.action", action=kind, inbound_id=inbound.id, user_id=self.user.id
        )
