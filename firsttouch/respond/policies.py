"""Choose the first touch an inbound gets, from the workspace's policies.

Pure: given the inbound's channel, source and route (when known), return
the actions to take in order. The first matching policy wins; a policy
that names routes matches only once the route is known.
"""

from __future__ import annotations

from dataclasses import dataclass

from firsttouch.workspace.respond import Policy, Respond


@dataclass(frozen=True)
class PlannedTouch:
    """One action of a first response: what to send, with which template."""

    action: str
    template: str | None
    delay_seconds: int
    policy: str


def match_policy(
    respond: Respond, channel: str, source: str, route: str | None
) -> Policy | None:
    """Return the first policy that covers this channel, source and route."""
    for policy in respond.policies:
        if policy.channels and channel not in policy.channels:
            continue
        if policy.sources and source not in policy.sources:
            continue
        if policy.routes and (route is None or route not in policy.routes):
            continue
        return policy
    return None


def fallback_actions(channel: str, has_email: bool, has_phone: bool) -> list[str]:
    """Return what to send when no policy matches: answer in kind if we can."""
    if channel == "call" and has_phone:
        return ["sms_textback"]
    if channel == "sms" and has_phone:
        return ["sms_reply"]
    if channel == "email" and has_email:
        return ["email_reply"]
    if has_email:
        return ["email"]
    if has_phone:
        return ["sms"]
    return []


def plan_first_touch(
    respond: Respond,
    *,
    channel: str,
    source: str,
    route: str | None,
    has_email: bool,
    has_phone: bool,
) -> list[PlannedTouch]:
    """Return the first touch's actions, in order, for one inbound."""
    policy = match_policy(respond, channel, source, route)
    if policy is None:
        actions = fallback_actions(channel, has_email, has_phone)
        return [
            PlannedTouch(a, respond.template_for(None, a), 0, "default")
            for a in actions
        ]
    return [
        PlannedTouch(
            action,
            respond.template_for(policy, action),
            policy.delay_seconds,
            policy.name,
        )
        for action in policy.actions
    ]
