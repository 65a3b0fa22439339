"""Who may see which lead: a rep their own and the unassigned ones, a manager
their team's (the reps whose ``manager`` in the workspace is them), an admin
everything. A lead outside that set does not exist for the caller: 404, never
403, so probing ids tells nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true

from firsttouch.store.models import Inbound
from firsttouch.web.sessions import DashboardUser
from firsttouch.workspace import Workspace


def visible_owners(user: DashboardUser, workspace: Workspace) -> set[str] | None:
    """Owner ids whose leads ``user`` sees besides unassigned ones; None is all."""
    if user.role == "admin":
        return None
    if not user.rep_id:
        return set()
    owners = {user.rep_id}
    if user.role == "manager":
        owners |= {r.id for r in workspace.team.reps if r.manager == user.rep_id}
    return owners


def visible_clause(user: DashboardUser, workspace: Workspace) -> ColumnElement[bool]:
    """A WHERE clause on ``Inbound`` that keeps only what ``user`` may see."""
    owners = visible_owners(user, workspace)
    if owners is None:
        return true()
    if not owners:
        return Inbound.owner_id.is_(None)
    return or_(Inbound.owner_id.is_(None), Inbound.owner_id.in_(sorted(owners)))


def may_see(user: DashboardUser, workspace: Workspace, owner_id: str | None) -> bool:
    """True when a lead owned by ``owner_id`` is visible to ``user``."""
    owners = visible_owners(user, workspace)
    return owners is None or owner_id is None or owner_id in owners


def assignable_reps(user: DashboardUser, workspace: Workspace) -> list[tuple[str, str]]:
    """(id, name) of the reps ``user`` may hand a lead to."""
    owners = visible_owners(user, workspace)
    reps = workspace.team.reps
    if user.role == "rep":
        # A rep may hand a lead to any colleague, not only to themselves.
        return [(r.id, r.name) for r in reps if not r.away]
    return [(r.id, r.name) for r in reps if owners is None or r.id in owners]
