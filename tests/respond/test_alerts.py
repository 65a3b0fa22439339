"""Rep alerts to email, Slack and Teams, against loopback servers of each."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from firsttouch.channels.smtp.sender import SmtpEmail
from firsttouch.channels.webhooks import WebhookPoster
from firsttouch.clock import VirtualClock
from firsttouch.errors import DeliveryError
from firsttouch.respond.alerts import (
    AlertLinkError,
    AlertSender,
    alert_owner,
    alert_owner_handler,
    issue_link_token,
    read_link_token,
)
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Activity, Inbound, Touch
from firsttouch.workspace.channels import Channels, Notification, SmtpChannel
from tests.channels.fakes import SmtpSink
from tests.respond.extras_fakes import (
    Answer,
    FakeApi,
    MailSink,
    fake_api,
    mail_sink,
    seed_lead,
)

SLACK = "/slack/T000/B000/hook"
TEAMS = "/teams/webhookb2/hook"


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with fake_api() as server:
        yield server


@pytest.fixture
def sink() -> Iterator[tuple[MailSink, int]]:
    with mail_sink() as pair:
        yield pair


@pytest.fixture
def alert_runtime(
    runtime: Runtime, api: FakeApi, sink: tuple[MailSink, int]
) -> Runtime:
    channels = Channels(
        outbox=False,
        smtp=SmtpChannel(
            host="127.0.0.1",
            port=sink[1],
            security="none",
            from_address="hello@northwindledger.example",
        ),
        notifications=[
            Notification(name="sales-slack", kind="slack", url="${SLACK_WEBHOOK}"),
            Notification(name="sales-teams", kind="teams", url=f"{api.url}{TEAMS}"),
            Notification(
                name="managers", kind="email", to=["dana@northwindledger.example"]
            ),
        ],
    )
    runtime.workspace = runtime.workspace.model_copy(update={"channels": channels})
    env = dict(runtime.settings.env) | {"SLACK_WEBHOOK": f"{api.url}{SLACK}"}
    runtime.settings = runtime.settings.with_overrides(
        env=env, public_url="https://ft.example"
    )
    return runtime


def sender_for(runtime: Runtime, port: int) -> AlertSender:
    return AlertSender(
        db=runtime.db,
        workspace=runtime.workspace,
        settings=runtime.settings,
        clock=runtime.clock,
        email=SmtpEmail("127.0.0.1", port, security="none"),
        poster=WebhookPoster(),
    )


def mails(sink: MailSink) -> dict[str, email.message.EmailMessage]:
    return {
        rcpt[0]: email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
        for rcpt, raw in sink.messages
    }


def test_alert_reaches_owner_slack_teams_and_managers_with_brief_and_links(
    alert_runtime: Runtime,
    api: FakeApi,
    sink: tuple[MailSink, int],
    db: Database,
    clock: VirtualClock,
) -> None:
    inbound_id = seed_lead(db, clock.now())

    deliveries = alert_owner(
        alert_runtime, {"inbound_id": inbound_id}, sender_for(alert_runtime, sink[1])
    )

    assert [d.state for d in deliveries] == ["sent"] * 4
    received = mails(sink[0])
    assert set(received) == {
        "maya@northwindledger.example",
        "dana@northwindledger.example",
    }
    owner_mail = received["maya@northwindledger.example"]
    assert owner_mail["Subject"] == "New lead for you: Ana Ruiz, Ruiz Logistics"
    text = owner_mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Score 82/100 (rep_now)" in text
    assert "Claim: https://ft.example/alerts/claim/" in text
    assert "Call me, then them: https://ft.example/alerts/call/" in text

    slack = api.requests_to(SLACK)[0].json()
    assert slack["text"] == "New lead for you: Ana Ruiz, Ruiz Logistics"
    buttons = slack["blocks"][-1]["elements"]
    assert [b["action_id"] for b in buttons] == ["claim", "call", "open"]
    assert buttons[0]["url"].startswith("https://ft.example/alerts/claim/")

    teams = api.requests_to(TEAMS)[0].json()
    card = teams["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    assert [a["title"] for a in card["content"]["actions"]] == [
        "Claim",
        "Call me, then them",
        "Open",
    ]

    with db.sessions() as session:
        touches = session.scalars(select(Touch).where(Touch.purpose == "rep_alert"))
        rows = touches.all()
    assert sorted(t.status for t in rows) == ["sent"] * 4
    assert all(t.contact_id is None for t in rows)  # never counts against the buyer


def test_a_retried_job_sends_nothing_twice(
    alert_runtime: Runtime,
    api: FakeApi,
    sink: tuple[MailSink, int],
    db: Database,
    clock: VirtualClock,
) -> None:
    inbound_id = seed_lead(db, clock.now())
    sender = sender_for(alert_runtime, sink[1])

    alert_owner(alert_runtime, {"inbound_id": inbound_id}, sender)
    again = alert_owner(alert_runtime, {"inbound_id": inbound_id}, sender)

    assert [d.state for d in again] == ["skipped"] * 4
    assert len(sink[0].messages) == 2
    assert len(api.requests_to(SLACK)) == 1 and len(api.requests_to(TEAMS)) == 1


def test_slack_429_is_waited_out_per_retry_after(
    alert_runtime: Runtime,
    api: FakeApi,
    sink: tuple[MailSink, int],
    db: Database,
    clock: VirtualClock,
) -> None:
    inbound_id = seed_lead(db, clock.now())
    api.queue(SLACK, Answer(429, "rate_limited", {"Retry-After": "0"}))

    deliveries = alert_owner(
        alert_runtime, {"inbound_id": inbound_id}, sender_for(alert_runtime, sink[1])
    )

    assert all(d.state == "sent" for d in deliveries)
    assert len(api.requests_to(SLACK)) == 2


def test_a_permanent_refusal_is_recorded_and_a_transient_one_retries_alone(
    alert_runtime: Runtime,
    api: FakeApi,
    sink: tuple[MailSink, int],
    db: Database,
    clock: VirtualClock,
) -> None:
    inbound_id = seed_lead(db, clock.now())
    sender = sender_for(alert_runtime, sink[1])
    api.queue(SLACK, Answer(404, "no_service"))
    api.queue(TEAMS, Answer(503, "unavailable"))

    with pytest.raises(DeliveryError) as raised:
        alert_owner(alert_runtime, {"inbound_id": inbound_id}, sender)
    assert not raised.value.permanent and "sales-teams" in str(raised.value)

    # The job's retry: Teams is back; Slack stays refused; email is not re-sent.
    deliveries = alert_owner(alert_runtime, {"inbound_id": inbound_id}, sender)

    states = {d.destination: d.state for d in deliveries}
    assert states["sales-teams"] == "sent"
    assert states["sales-slack"] == "failed"
    assert len(api.requests_to(SLACK)) == 1
    assert len(sink[0].messages) == 2
    with db.sessions() as session:
        slack = session.scalars(
            select(Touch).where(Touch.to_address == "slack:sales-slack")
        ).one()
    assert slack.status == "failed" and slack.error_code == "404"
    assert "no_service" in (slack.error or "")


def test_teams_error_text_in_a_200_is_a_failure(
    alert_runtime: Runtime,
    api: FakeApi,
    sink: tuple[MailSink, int],
    db: Database,
    clock: VirtualClock,
) -> None:
    inbound_id = seed_lead(db, clock.now())
    api.queue(TEAMS, Answer(200, "Microsoft Teams endpoint returned HTTP error 429"))

    with pytest.raises(DeliveryError):
        alert_owner(
            alert_runtime,
            {"inbound_id": inbound_id},
            sender_for(alert_runtime, sink[1]),
        )


def test_lead_text_is_escaped_for_each_format(
    alert_runtime: Runtime,
    api: FakeApi,
    sink: tuple[MailSink, int],
    db: Database,
    clock: VirtualClock,
) -> None:
    inbound_id = seed_lead(
        db,
        clock.now(),
        first_name="<b>Eve</b> & [x](http://e.vil)",
        message="<script>alert(1)</script> *now*",
    )

    alert_owner(
        alert_runtime, {"inbound_id": inbound_id}, sender_for(alert_runtime, sink[1])
    )

    slack = api.requests_to(SLACK)[0].json()
    # mrkdwn parses <...> as links and mentions; plain_text blocks do not.
    mrkdwn = [slack["text"]] + [
        b["text"]["text"] for b in slack["blocks"] if b["type"] == "section"
    ]
    assert all("<b>" not in part and "<script>" not in part for part in mrkdwn)
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp;" in mrkdwn[0]
    teams = api.requests_to(TEAMS)[0].json()["attachments"][0]["content"]
    assert r"\[x\]\(http://e\.vil\)" in teams["body"][0]["text"]
    html = mails(sink[0])["maya@northwindledger.example"].get_body(("html",))
    assert html is not None
    content = html.get_content()
    assert "<script>" not in content and "&lt;script&gt;" in content


@pytest.mark.parametrize("control", ["\r\n", "\n", "\t", "\x00"], ids=repr)
def test_a_name_with_a_line_break_alerts_on_one_line(
    alert_runtime: Runtime,
    sink: tuple[MailSink, int],
    db: Database,
    clock: VirtualClock,
    control: str,
) -> None:
    inbound_id = seed_lead(db, clock.now(), first_name=f"Bob{control}Bcc: x@e.vil")

    alert_owner(
        alert_runtime, {"inbound_id": inbound_id}, sender_for(alert_runtime, sink[1])
    )

    sent = mails(sink[0])
    assert sorted(sent) == [
        "dana@northwindledger.example",
        "maya@northwindledger.example",
    ]
    for mail in sent.values():
        assert mail["Bcc"] is None
        assert mail["Subject"].startswith("New lead for you: Bob Bcc: x@e.vil")
    with db.sessions() as session:
        subjects = session.scalars(
            select(Touch.subject).where(Touch.channel == "email")
        )
        assert all(s and "\n" not in s and "\x00" not in s for s in subjects)


def test_sla_breach_for_the_manager_goes_to_the_owners_manager(
    alert_runtime: Runtime,
    sink: tuple[MailSink, int],
    db: Database,
    clock: VirtualClock,
) -> None:
    inbound_id = seed_lead(db, clock.now(), score=None)
    payload = {
        "inbound_id": inbound_id,
        "reason": "sla_breach",
        "audience": "manager",
        "detail": "the first touch has not gone out yet",
    }

    alert_owner(alert_runtime, payload, sender_for(alert_runtime, sink[1]))

    received = mails(sink[0])
    subject = received["dana@northwindledger.example"]["Subject"]
    assert subject == "Unanswered lead: Ana Ruiz, Ruiz Logistics"
    assert "maya@northwindledger.example" not in received


def test_handler_runs_from_a_job_payload(
    alert_runtime: Runtime,
    api: FakeApi,
    sink: tuple[MailSink, int],
    db: Database,
    clock: VirtualClock,
) -> None:
    inbound_id = seed_lead(db, clock.now())
    alert_runtime.services["email"] = SmtpEmail("127.0.0.1", sink[1], security="none")
    handler = alert_owner_handler(alert_runtime)

    class Ctx:
        payload: dict[str, Any] = {"inbound_id": inbound_id, "qualification_id": 1}

    Ctx.db = db  # type: ignore[attr-defined]
    Ctx.clock = clock  # type: ignore[attr-defined]
    handler(Ctx())  # type: ignore[arg-type]

    assert len(sink[0].messages) == 2 and len(api.requests_to(SLACK)) == 1


def test_link_tokens_name_the_lead_and_rep_and_expire(
    clock: VirtualClock, runtime: Runtime
) -> None:
    secret = runtime.settings.secret_key
    token = issue_link_token(secret, clock, 5, "maya")

    assert read_link_token(secret, clock, token) == (5, "maya")
    clock.advance(timedelta(days=8))
    with pytest.raises(AlertLinkError, match="expired"):
        read_link_token(secret, clock, token)


@pytest.fixture
def links_client(runtime: Runtime) -> Iterator[TestClient]:
    from firsttouch.web import create_app

    with TestClient(create_app(runtime)) as test_client:
        yield test_client


def test_claim_link_asks_on_get_and_claims_on_post(
    runtime: Runtime, links_client: TestClient, db: Database, clock: VirtualClock
) -> None:
    inbound_id = seed_lead(db, clock.now(), owner="maya")
    token = issue_link_token(runtime.settings.secret_key, clock, inbound_id, "luis")

    page = links_client.get(f"/alerts/claim/{token}")
    with db.sessions() as session:
        assert session.get(Inbound, inbound_id).owner_id == "maya"  # type: ignore[union-attr]
    done = links_client.post(f"/alerts/claim/{token}")

    assert page.status_code == 200 and "<button" in page.text
    assert done.status_code == 200 and "is yours" in done.text
    with db.sessions() as session:
        assert session.get(Inbound, inbound_id).owner_id == "luis"  # type: ignore[union-attr]
        activity = session.scalars(select(Activity)).one()
    assert activity.kind == "lead.claimed" and activity.actor == "luis"
    assert links_client.get(f"/alerts/claim/{token}x").status_code == 404


def test_other_chat_tools_go_through_apprise(
    alert_runtime: Runtime,
    api: FakeApi,
    sink: tuple[MailSink, int],
    db: Database,
    clock: VirtualClock,
) -> None:
    hook = "/apprise/ops"
    port = api.url.rsplit(":", 1)[1]
    chat = Notification(
        name="ops-chat", kind="apprise", url=f"json://127.0.0.1:{port}{hook}"
    )
    channels = alert_runtime.workspace.channels.model_copy(
        update={"notifications": [chat]}
    )
    alert_runtime.workspace = alert_runtime.workspace.model_copy(
        update={"channels": channels}
    )
    first = seed_lead(db, clock.now())
    second = seed_lead(db, clock.now(), first_name="Bo")
    sender = sender_for(alert_runtime, sink[1])

    alert_owner(alert_runtime, {"inbound_id": first}, sender)
    api.queue(hook, Answer(500, "down"))
    with pytest.raises(DeliveryError, match="apprise send failed"):
        alert_owner(alert_runtime, {"inbound_id": second}, sender)

    body = api.requests_to(hook)[0].json()
    assert body["title"] == "New lead for you: Ana Ruiz, Ruiz Logistics"
    assert "Claim: https://ft.example/alerts/claim/" in body["message"]


def test_alert_email_to_internationalised_addresses_on_a_server_without_smtputf8(
    alert_runtime: Runtime, db: Database, clock: VirtualClock
) -> None:
    managers = Notification(
        name="managers",
        kind="email",
        to=["dana@nörthwind.example", "jürgen@northwindledger.example"],
    )
    channels = alert_runtime.workspace.channels.model_copy(
        update={"notifications": [managers]}
    )
    alert_runtime.workspace = alert_runtime.workspace.model_copy(
        update={"channels": channels}
    )
    inbound_id = seed_lead(db, clock.now())

    with SmtpSink() as plain:
        deliveries = alert_owner(
            alert_runtime,
            {"inbound_id": inbound_id},
            sender_for(alert_runtime, plain.port),
        )

    # The IDNA domain reaches the server; the UTF-8 local part fails for good,
    # with its reason, and keeps nobody else's alert back.
    assert sorted(r for got in plain.received for r in got.recipients) == [
        "dana@xn--nrthwind-n4a.example",
        "maya@northwindledger.example",
    ]
    assert sorted(d.state for d in deliveries) == ["failed", "sent", "sent"]
    with db.sessions() as session:
        failed = session.scalars(select(Touch).where(Touch.status == "failed")).one()
    assert "does not accept internationalised addresses (SMTPUTF8)" in (
        failed.error or ""
    )
    assert "j***@northwindledger.example cannot be reached by email" in (
        failed.error or ""
    )


def test_an_owner_also_on_the_notification_list_hears_of_a_breach_once(
    alert_runtime: Runtime,
    api: FakeApi,
    sink: tuple[MailSink, int],
    db: Database,
    clock: VirtualClock,
) -> None:
    channels = alert_runtime.workspace.channels
    team = Notification(
        name="sales-team",
        kind="email",
        to=[
            "Maya@NorthwindLedger.example",
            "dana@northwindledger.example",
            "DANA@northwindledger.example",
        ],
    )
    again = Notification(name="slack-again", kind="slack", url="${SLACK_WEBHOOK}")
    listed = [*channels.notifications, team, again]
    channels = channels.model_copy(update={"notifications": listed})
    alert_runtime.workspace = alert_runtime.workspace.model_copy(
        update={"channels": channels}
    )
    inbound_id = seed_lead(db, clock.now())
    payload = {"inbound_id": inbound_id, "reason": "sla_breach"}

    deliveries = alert_owner(alert_runtime, payload, sender_for(alert_runtime, sink[1]))

    recipients = sorted(rcpt[0].lower() for rcpt, _ in sink[0].messages)
    assert recipients == [
        "dana@northwindledger.example",
        "maya@northwindledger.example",
    ]
    assert len(api.requests_to(SLACK)) == 1
    assert [d.destination for d in deliveries] == [
        "owner",
        "sales-slack",
        "sales-teams",
        "managers:d***@northwindledger.example",
    ]
