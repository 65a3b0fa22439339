"""The first matching workspace policy picks the first touch; default delay zero."""

from __future__ import annotations

from firsttouch.respond.policies import plan_first_touch
from firsttouch.workspace import Workspace


def _plan(
    workspace: Workspace,
    channel: str,
    route: str | None = None,
    email: bool = True,
    phone: bool = True,
) -> list[tuple[str, str | None]]:
    planned = plan_first_touch(
        workspace.respond,
        channel=channel,
        source="website",
        route=route,
        has_email=email,
        has_phone=phone,
    )
    assert all(p.delay_seconds == 0 for p in planned)
    return [(p.action, p.template) for p in planned]


def test_an_email_is_answered_in_its_thread(workspace: Workspace) -> None:
    assert _plan(workspace, "email") == [("email_reply", "first_touch_email")]


def test_a_missed_call_gets_a_text_back(workspace: Workspace) -> None:
    assert _plan(workspace, "call") == [("sms_textback", "missed_call_sms")]


def test_a_web_lead_gets_an_email_until_its_route_is_known(
    workspace: Workspace,
) -> None:
    assert _plan(workspace, "web_form") == [("email", "first_touch_email")]
    assert [a for a, _ in _plan(workspace, "web_form", "rep_now")] == [
        "email",
        "sms",
        "call_bridge",
    ]


def test_without_a_matching_policy_the_answer_comes_in_kind(
    workspace: Workspace,
) -> None:
    assert _plan(workspace, "referral", phone=False) == [("email", "first_touch_email")]
    assert _plan(workspace, "referral", email=False) == [("sms", "first_touch_sms")]
    assert _plan(workspace, "referral", email=False, phone=False) == []
