"""Provisional owners: territory, weighted round-robin, capacity, fallbacks."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from firsttouch.capture.owners import Lead, choose_owner, record_decision
from firsttouch.store.models import Contact, Inbound
from firsttouch.workspace import Workspace
from firsttouch.workspace.team import Rep

TUESDAY_2PM_UTC = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
TUESDAY_6PM_UTC = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
SUNDAY_3AM_UTC = datetime(2026, 3, 8, 3, 0, tzinfo=UTC)


def with_reps(workspace: Workspace, **changes: dict[str, object]) -> Workspace:
    reps = [r.model_copy(update=changes.get(r.id, {})) for r in workspace.team.reps]
    return workspace.model_copy(
        update={"team": workspace.team.model_copy(update={"reps": reps})}
    )


def assign(db, workspace, lead: Lead, now: datetime, times: int = 1) -> list[str]:  # type: ignore[no-untyped-def]
    owners = []
    for _ in range(times):
        with db.transaction() as session:
            choice = choose_owner(session, workspace, lead, now)
            record_decision(session, choice, inbound_id=None, contact_id=None, now=now)
            owners.append(choice.owner_id)
    return owners


def test_territory_picks_the_most_specific_match(db, workspace) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        west = choose_owner(
            session, workspace, Lead(country="US", region="CA"), TUESDAY_6PM_UTC
        )
        east = choose_owner(
            session, workspace, Lead(country="US", region="NY"), TUESDAY_6PM_UTC
        )
        uk = choose_owner(session, workspace, Lead(country="GB"), TUESDAY_2PM_UTC)

    assert (west.owner_id, west.rule) == ("maya", "territory")
    assert east.owner_id == "luis" and uk.owner_id == "hannah"


def test_existing_owner_keeps_the_contact(db, workspace) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        choice = choose_owner(
            session,
            workspace,
            Lead(country="GB", contact_owner="luis"),
            TUESDAY_2PM_UTC,
        )
    assert (choice.owner_id, choice.rule) == ("luis", "existing_owner")


def test_round_robin_follows_weights(db, workspace) -> None:  # type: ignore[no-untyped-def]
    owners = Counter(assign(db, workspace, Lead(), TUESDAY_2PM_UTC, times=10))
    # maya is asleep in Los Angeles; dana has half weight.
    assert owners == {"luis": 4, "hannah": 4, "dana": 2}


def test_away_rep_is_skipped_with_the_reason(db, workspace) -> None:  # type: ignore[no-untyped-def]
    away = with_reps(workspace, hannah={"away": True})
    with db.transaction() as session:
        choice = choose_owner(session, away, Lead(country="GB"), TUESDAY_2PM_UTC)
    assert choice.owner_id != "hannah"
    assert {"rep": "hannah", "why": "marked away"} in choice.skipped


def test_rep_at_capacity_is_skipped(db, workspace, clock) -> None:  # type: ignore[no-untyped-def]
    full = with_reps(workspace, hannah={"capacity": 1})
    with db.transaction() as session:
        contact = Contact(email="held@open-lead.example")
        session.add(contact)
        session.flush()
        session.add(
            Inbound(
                dedupe_key="open:1",
                received_at=clock.now(),
                channel="email",
                source="email",
                owner_id="hannah",
                status="new",
                contact_id=contact.id,
            )
        )

    with db.transaction() as session:
        choice = choose_owner(session, full, Lead(country="GB"), TUESDAY_2PM_UTC)

    assert choice.owner_id != "hannah"
    assert any("at capacity (1/1" in s["why"] for s in choice.skipped)


def test_nobody_working_goes_to_on_call(db, workspace) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        choice = choose_owner(session, workspace, Lead(country="US"), SUNDAY_3AM_UTC)
    assert (choice.owner_id, choice.rule) == ("dana", "on_call")
    assert {s["rep"] for s in choice.skipped} >= {"luis", "maya"}


def test_away_rep_keeps_their_turn(db, workspace) -> None:  # type: ignore[no-untyped-def]
    away = with_reps(workspace, hannah={"away": True})
    assign(db, away, Lead(), TUESDAY_2PM_UTC, times=4)
    back = assign(db, workspace, Lead(), TUESDAY_2PM_UTC, times=2)
    assert back[0] == "hannah"


def test_new_rep_joins_at_the_team_average(db, workspace) -> None:  # type: ignore[no-untyped-def]
    assign(db, workspace, Lead(), TUESDAY_2PM_UTC.replace(day=9), times=10)
    hours = workspace.team.rep("luis").working_hours
    nina = Rep(
        id="nina",
        name="Nina New",
        email="nina@northwindledger.example",
        timezone="America/New_York",
        working_hours=hours,
        joined=date(2026, 3, 10),
    )
    team = workspace.team.model_copy(update={"reps": [*workspace.team.reps, nina]})
    grown = workspace.model_copy(update={"team": team})

    later = Counter(assign(db, grown, Lead(), TUESDAY_2PM_UTC, times=8))
    assert 0 < later["nina"] <= 3
