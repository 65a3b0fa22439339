"""The dashboard's pages, actions and who may see what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from firsttouch.store.models import Activity, Inbound, RoutingDecision, Task
from tests.web.dashboard_data import (
    cheap_hashing,  # noqa: F401, E402 - fixture
    csrf_of,
    judge,
    log_in,
    make_lead,
    make_users,
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def staffed(runtime):  # type: ignore[no-untyped-def]
    make_users(runtime.db, runtime.clock)
    return runtime


def test_pages_need_a_login(client, staffed) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/sla", "/jobs", "/workspace", "/leads/1"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")


def test_queue_shows_hot_leads_first_with_brief_and_reasons(client, staffed) -> None:  # type: ignore[no-untyped-def]
    now = staffed.clock.now()
    cold = make_lead(staffed.db, now, first="Cole", owner=None)
    warm = make_lead(staffed.db, now, first="Hattie", owner="maya")
    warmer = make_lead(staffed.db, now, first="Ida", owner="maya")
    judge(staffed.db, cold, score=20, route="nurture")
    judge(staffed.db, warm, score=40, route="fast_track")
    judge(staffed.db, warm)  # a re-score: the latest row counts
    judge(staffed.db, warmer, score=95)
    assert log_in(client, "maya").status_code == 303
    page = client.get("/").text

    hot_part = page.split('id="section-hot"')[1].split('id="section-replies"')[0]
    assert "Hattie" in hot_part and "Cole" not in hot_part
    assert hot_part.index("Ida") < hot_part.index("Hattie")
    assert "CFO at a 400-person freight firm." in hot_part
    assert "company size (+30)" in hot_part
    assert "due in" in hot_part
    sequences_part = page.split('id="section-sequences"')[1]
    assert "Cole" in sequences_part


def test_rep_sees_own_and_unassigned_but_not_a_colleagues_lead(client, staffed) -> None:  # type: ignore[no-untyped-def]
    now = staffed.clock.now()
    mine = make_lead(staffed.db, now, first="Mine", owner="maya")
    theirs = make_lead(staffed.db, now, first="Theirs", owner="luis")
    nobody = make_lead(staffed.db, now, first="Nobody", owner=None)
    log_in(client, "maya")

    page = client.get("/").text
    assert "Mine" in page and "Nobody" in page and "Theirs" not in page
    assert client.get(f"/leads/{mine}").status_code == 200
    assert client.get(f"/leads/{nobody}").status_code == 200
    assert client.get(f"/leads/{theirs}").status_code == 404
    assert client.get("/leads/999999").status_code == 404

    # Acting on a hidden lead is refused the same way, and changes nothing.
    token = csrf_of(page)
    answer = client.post(f"/leads/{theirs}/claim", data={"csrf_token": token})
    assert answer.status_code == 404
    with staffed.db.sessions() as session:
        assert session.get(Inbound, theirs).owner_id == "luis"


def test_manager_sees_the_team_and_admin_everything(client, staffed) -> None:  # type: ignore[no-untyped-def]
    now = staffed.clock.now()
    lead = make_lead(staffed.db, now, first="Teamlead", owner="luis")
    log_in(client, "dana")
    assert client.get(f"/leads/{lead}").status_code == 200
    client.cookies.clear()
    log_in(client, "admin")
    assert client.get(f"/leads/{lead}").status_code == 200


def test_claim_and_reassign_are_logged_on_the_timeline(client, staffed) -> None:  # type: ignore[no-untyped-def]
    lead = make_lead(staffed.db, staffed.clock.now(), first="Claimable", owner=None)
    log_in(client, "maya")
    token = csrf_of(client.get(f"/leads/{lead}").text)

    claimed = client.post(
        f"/leads/{lead}/claim",
        data={"csrf_token": token, "back": "lead"},
        follow_redirects=False,
    )
    assert claimed.status_code == 303
    assert claimed.headers["location"] == f"/leads/{lead}?done=claimed"
    handed = client.post(
        f"/leads/{lead}/reassign",
        data={"csrf_token": token, "rep_id": "luis", "back": "lead"},
        follow_redirects=False,
    )
    assert handed.headers["location"] == "/?done=reassigned"

    with staffed.db.sessions() as session:
        inbound = session.get(Inbound, lead)
        assert inbound.owner_id == "luis"
        rules = [r.rule for r in session.scalars(select(RoutingDecision))]
        kinds = [a.kind for a in session.scalars(select(Activity))]
    assert rules == ["dashboard:claimed", "dashboard:reassigned"]
    assert kinds == ["owner.claimed", "owner.reassigned"]

    # Maya handed it to Luis, so it is no longer hers to see; the manager sees both.
    assert client.get(f"/leads/{lead}").status_code == 404
    client.cookies.clear()
    log_in(client, "dana")
    timeline = client.get(f"/leads/{lead}").text.split('id="timeline"')[1]
    assert "claimed by Maya" in timeline
    assert "reassigned to Luis Ortega by Maya" in timeline
    assert timeline.index("reassigned to") < timeline.index("claimed by")


def test_call_snooze_and_disqualify_take_the_lead_out_of_the_queue(
    client, staffed
) -> None:  # type: ignore[no-untyped-def]
    now = staffed.clock.now()
    called = make_lead(staffed.db, now, first="Called")
    snoozed = make_lead(staffed.db, now, first="Snoozed")
    dropped = make_lead(staffed.db, now, first="Dropped")
    log_in(client, "maya")
    token = csrf_of(client.get("/").text)

    client.post(f"/leads/{called}/call", data={"csrf_token": token})
    client.post(f"/leads/{snoozed}/snooze", data={"csrf_token": token, "until": "1d"})
    refused = client.post(
        f"/leads/{dropped}/disqualify", data={"csrf_token": token, "reason": ""}
    )
    assert refused.status_code == 400
    client.post(
        f"/leads/{dropped}/disqualify",
        data={"csrf_token": token, "reason": "competitor"},
    )

    page = client.get("/").text
    open_part = page.split('id="h-snoozed"')[0]
    assert "Called" not in open_part and "Dropped" not in open_part
    assert "Snoozed Byron" not in open_part
    assert "Snoozed Byron</a> until" in page
    with staffed.db.sessions() as session:
        assert session.get(Inbound, called).human_touch_at == now
        assert session.get(Inbound, dropped).status == "disqualified"
        task = session.scalars(select(Task)).one()
        assert task.due_at == now + timedelta(days=1)
        reasons = [
            a.details.get("reason")
            for a in session.scalars(
                select(Activity).where(Activity.kind == "stage.disqualified")
            )
        ]
    assert reasons == ["competitor"]

    # A day later the snoozed lead is back.
    staffed.clock.advance(timedelta(days=1, minutes=1))
    assert "Snoozed Byron" in client.get("/").text.split('id="h-snoozed"')[0]


def test_a_form_post_without_its_csrf_token_is_refused(client, staffed) -> None:  # type: ignore[no-untyped-def]
    lead = make_lead(staffed.db, staffed.clock.now(), owner=None)
    log_in(client, "maya")
    assert client.post(f"/leads/{lead}/claim", data={}).status_code == 403
    assert (
        client.post(f"/leads/{lead}/claim", data={"csrf_token": "forged"}).status_code
        == 403
    )
    with staffed.db.sessions() as session:
        assert session.get(Inbound, lead).owner_id is None


def test_lead_supplied_markup_is_shown_as_text(client, staffed) -> None:  # type: ignore[no-untyped-def]
    evil = "<img src=x onerror=alert(1)>"
    lead = make_lead(
        staffed.db,
        staffed.clock.now(),
        first=evil,
        last="",
        company='"><script>alert(2)</script>',
        message=evil,
    )
    judge(staffed.db, lead, brief=evil)
    log_in(client, "maya")
    pages = [client.get("/").text, client.get(f"/leads/{lead}").text]
    feed = client.get("/queue/updates").json()
    for page in pages:
        assert evil not in page and "<script>alert(2)" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert feed["leads"][0]["name"] == evil  # data for textContent, never HTML


def test_live_feed_returns_hot_leads_since_a_time(client, staffed) -> None:  # type: ignore[no-untyped-def]
    now = staffed.clock.now()
    old = make_lead(staffed.db, now, first="Old", received_ago=timedelta(hours=3))
    new = make_lead(staffed.db, now, first="New")
    judge(staffed.db, old)
    judge(staffed.db, new)
    log_in(client, "maya")
    since = (now - timedelta(minutes=10)).isoformat()
    feed = client.get("/queue/updates", params={"since": since}).json()
    assert [lead["name"] for lead in feed["leads"]] == ["New Byron"]
    assert feed["leads"][0]["url"] == f"/leads/{new}"


def test_operating_pages_render(client, staffed) -> None:  # type: ignore[no-untyped-def]
    make_lead(
        staffed.db,
        staffed.clock.now(),
        first="Waiting",
        received_ago=timedelta(minutes=20),
    )
    log_in(client, "dana")
    sla = client.get("/sla").text
    assert "Waiting" in sla and "overdue" in sla
    assert "Breaches this week" in sla
    assert "Sequences" in client.get("/sequences").text
    leak = client.get("/leak")
    assert leak.status_code == 200 and "Capture" in leak.text

    from firsttouch.store.models.respond import OutboxMessage

    with staffed.db.transaction() as session:
        session.add(
            OutboxMessage(
                key="k1",
                channel="email",
                to_address="a@b.test",
                subject="<b>Hi</b>",
                body="Thanks for asking.",
                meta={},
                created_at=staffed.clock.now(),
            )
        )
    outbox = client.get("/outbox").text
    assert "&lt;b&gt;Hi&lt;/b&gt;" in outbox and "Thanks for asking." in outbox
    workspace = client.get("/workspace").text
    assert "Maya Chen" in workspace and "validates" in workspace
    assert "Dead jobs" in client.get("/jobs").text


def test_dead_job_can_be_retried_by_a_manager(client, staffed) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.jobs.queue import enqueue
    from firsttouch.store.models import Job

    with staffed.db.transaction() as session:
        enqueue(session, "system.noop", {}, key="dead-one")
    with staffed.db.transaction() as session:
        job = session.scalars(select(Job)).one()
        job.state, job.last_error = "dead", "boom: the provider said no"
        job_id = job.id

    log_in(client, "maya")
    page = client.get("/jobs").text
    assert "boom: the provider said no" in page and "Retry job" not in page
    assert (
        client.post(
            f"/jobs/{job_id}/retry", data={"csrf_token": csrf_of(page)}
        ).status_code
        == 403
    )
    client.cookies.clear()
    log_in(client, "dana")
    page = client.get("/jobs").text
    answer = client.post(
        f"/jobs/{job_id}/retry",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    with staffed.db.sessions() as session:
        assert session.get(Job, job_id).state == "queued"


def test_a_claimed_lead_is_not_taken_back_by_idle_reassignment(client, staffed) -> None:  # type: ignore[no-untyped-def]
    lead = make_lead(staffed.db, staffed.clock.now(), first="Kept", owner=None)
    log_in(client, "maya")
    client.post(
        f"/leads/{lead}/claim", data={"csrf_token": csrf_of(client.get("/").text)}
    )
    with staffed.db.sessions() as session:
        inbound = session.get(Inbound, lead)
    assert (inbound.owner_id, inbound.status) == ("maya", "claimed")
    assert f"/leads/{lead}" in client.get("/").text  # still waiting for a call

    try:
        from firsttouch.capture.handlers import reassign_if_idle
    except ImportError:
        return
    assert reassign_if_idle(staffed, lead) is None
    with staffed.db.sessions() as session:
        assert session.get(Inbound, lead).owner_id == "maya"


def test_the_sla_board_agrees_with_respond_about_breaches(client, staffed) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.store.models import Inbound, SlaEvent

    now = staffed.clock.now()
    held = make_lead(staffed.db, now, first="Held", received_ago=timedelta(hours=9))
    missed = make_lead(staffed.db, now, first="Missed", received_ago=timedelta(hours=2))
    with staffed.db.transaction() as session:
        # Held back by quiet hours, then sent when allowed: not a breach.
        row = session.get(Inbound, held)
        row.first_touch_at = now - timedelta(hours=1)
        row.sla_state = "late"
        session.add(
            SlaEvent(
                inbound_id=held,
                clock="first_touch",
                state="deferred_by_policy",
                reason="quiet hours",
                due_at=row.first_touch_due_at,
                occurred_at=now,
                details={},
                created_at=now,
            )
        )
        # A voicemail hangs on its lead and has no clock of its own.
        session.add(
            Inbound(
                dedupe_key="vm-1",
                received_at=now,
                channel="call",
                kind="voicemail",
                source="phone",
                contact_id=row.contact_id,
                parent_id=missed,
                status="recorded",
                sla_state="not_applicable",
            )
        )
    log_in(client, "dana")
    sla = client.get("/sla").text
    waiting, breaches = sla.split("Breaches this week")
    assert "Missed" in waiting and "Held" not in waiting
    assert waiting.count("voicemail") == 0
    assert "Held" not in breaches and "Missed" in breaches


def test_countdowns_name_their_clock() -> None:
    from datetime import UTC, datetime

    from firsttouch.web.dashboard.rendering import countdown

    now = datetime(2026, 3, 16, 13, 0, tzinfo=UTC)
    assert (
        countdown(now - timedelta(hours=1), now, "follow-up")
        == "follow-up overdue 1h 00m"
    )
    assert (
        countdown(now + timedelta(minutes=4), now, "first touch")
        == "first touch due in 4m"
    )


def test_sla_board_lists_missed_follow_ups_and_whether_the_manager_knows(  # type: ignore[no-untyped-def]
    client, staffed
) -> None:
    from firsttouch.store.models import SlaEvent

    now = staffed.clock.now()
    told = make_lead(staffed.db, now, first="Told", received_ago=timedelta(hours=2))
    quiet = make_lead(staffed.db, now, first="Quiet", received_ago=timedelta(hours=1))
    fine = make_lead(staffed.db, now, first="Fine", received_ago=timedelta(hours=1))
    with staffed.db.transaction() as session:
        for inbound_id, state in (
            (told, "breached"),
            (told, "escalated"),
            (quiet, "breached"),
            (fine, "met"),
        ):
            session.add(
                SlaEvent(
                    inbound_id=inbound_id,
                    clock="human",
                    state=state,
                    reason=state,
                    occurred_at=now,
                    details={},
                    created_at=now,
                )
            )
    log_in(client, "dana")
    board = client.get("/sla").text
    missed = board.split("Follow-ups missed this week")[1]
    assert "Told Byron" in missed and "Quiet Byron" in missed
    assert "Fine Byron" not in missed
    rows = {
        row.split("</a>")[0].rsplit(">", 1)[1]: row for row in missed.split("<tr>")[2:]
    }
    assert "alerted" in rows["Told Byron"] and "not yet" in rows["Quiet Byron"]


def test_sla_board_says_when_accepted_inbounds_wait_for_a_worker(  # type: ignore[no-untyped-def]
    raw_client, staffed
) -> None:
    from firsttouch.capture.accept import AcceptWriter
    from firsttouch.capture.events import InboundEvent, PersonFacts

    now = staffed.clock.now()
    make_lead(staffed.db, now, first="Settled")
    log_in(raw_client, "dana")
    assert 'id="unprocessed"' not in raw_client.get("/sla").text

    # Stored for a capture.ingest job, as every event of a large group is
    # (a small group is ingested on acceptance).
    writer = AcceptWriter(staffed, ingest_up_to=0)
    event = InboundEvent(
        dedupe_key="chat:c-1",
        channel="chat",
        kind="chat",
        source="website_chat",
        provider="generic_chat",
        person=PersonFacts(email="ines@northwind.example"),
        body_text="hi",
    )
    try:
        writer.accept_blocking([event])
    finally:
        writer.stop()

    board = raw_client.get("/sla").text
    assert 'id="unprocessed"' in board and "1 inbound stored" in board
