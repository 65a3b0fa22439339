"""What a rep alert says, written out for each place it goes.

``Alert`` is the message; each function renders it for one destination and
escapes the lead's own text for that format: HTML for email, Slack's
``&``/``<``/``>`` entities for mrkdwn (Slack docs, "Escaping text"), and
backslashes for the Markdown subset that Teams renders in Adaptive Card
TextBlocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markupsafe import escape

from firsttouch.channels.messages import EmailMessage
from firsttouch.channels.smtp.sender import make_message_id
from firsttouch.workspace.team import Rep


@dataclass(frozen=True)
class Alert:
    """What a rep is told about one lead, ready for any destination."""

    inbound_id: int
    rep: Rep
    title: str
    brief: str
    facts: list[tuple[str, str]]
    claim_url: str
    call_url: str | None
    lead_url: str
    buyer_phone: str | None = None
    reason: str = "hot_lead"


def slack_escape(text: str) -> str:
    """Escape text for Slack mrkdwn: only &, < and > are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")


def markdown_escape(text: str) -> str:
    """Backslash-escape Markdown so a lead's text renders as typed."""
    return _MARKDOWN.sub(r"\\\1", text)


def slack_payload(alert: Alert) -> dict[str, Any]:
    """Return a Slack incoming-webhook body: fallback text plus Block Kit."""
    facts = "\n".join(
        f"*{label}:* {slack_escape(value)}" for label, value in alert.facts
    )
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Claim"},
            "style": "primary",
            "url": alert.claim_url,
            "action_id": "claim",
        },
    ]
    if alert.call_url:
        buttons.append(
            {
                "type": "button",
                "action_id": "call",
                "text": {"type": "plain_text", "text": "Call me, then them"},
                "url": alert.call_url,
            }
        )
    buttons.append(
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open"},
            "url": alert.lead_url,
            "action_id": "open",
        }
    )
    return {
        "text": slack_escape(alert.title),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": alert.title[:150]},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": slack_escape(alert.brief)[:3000]},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": facts[:3000]}},
            {"type": "actions", "elements": buttons},
        ],
    }


def teams_payload(alert: Alert) -> dict[str, Any]:
    """Return a Teams incoming-webhook body carrying an Adaptive Card."""
    actions: list[dict[str, Any]] = [
        {"type": "Action.OpenUrl", "title": "Claim", "url": alert.claim_url}
    ]
    if alert.call_url:
        actions.append(
            {
                "type": "Action.OpenUrl",
                "title": "Call me, then them",
                "url": alert.call_url,
            }
        )
    actions.append({"type": "Action.OpenUrl", "title": "Open", "url": alert.lead_url})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "size": "Medium",
                "weight": "Bolder",
                "wrap": True,
                "text": markdown_escape(alert.title),
            },
            {"type": "TextBlock", "wrap": True, "text": markdown_escape(alert.brief)},
            {
                "type": "FactSet",
                "facts": [
                    {"title": label, "value": markdown_escape(value)}
                    for label, value in alert.facts
                ],
            },
        ],
        "actions": actions,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def webhook_payload(alert: Alert) -> dict[str, Any]:
    """Return the plain JSON body for a generic webhook."""
    return {
        "event": "lead.alert",
        "reason": alert.reason,
        "inbound_id": alert.inbound_id,
        "rep": alert.rep.id,
        "title": alert.title,
        "brief": alert.brief,
        "facts": dict(alert.facts),
        "links": {
            "claim": alert.claim_url,
            "call": alert.call_url,
            "lead": alert.lead_url,
        },
    }


def alert_text(alert: Alert) -> str:
    """Return the alert as plain text: brief, facts, then the links."""
    lines = [alert.brief, ""] + [f"{label}: {value}" for label, value in alert.facts]
    links = [f"Claim: {alert.claim_url}"]
    if alert.call_url:
        links.append(f"Call me, then them: {alert.call_url}")
    links.append(f"Open: {alert.lead_url}")
    return "\n".join(lines + [""] + links) + "\n"


def alert_email(alert: Alert, to: str, from_address: str, key: str) -> EmailMessage:
    """Return the alert as an email with text and HTML parts."""
    rows = "".join(
        f"<tr><th align='left'>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in alert.facts
    )
    buttons = " · ".join(
        f"<a href='{escape(url)}'>{escape(name)}</a>"
        for name, url in (
            ("Claim", alert.claim_url),
            ("Call me, then them", alert.call_url),
            ("Open", alert.lead_url),
        )
        if url
    )
    html = (
        f"<p>{escape(alert.brief)}</p><table>{rows}</table>"
        f"<p><strong>{buttons}</strong></p>"
    )
    return EmailMessage(
        to=to,
        from_address=from_address,
        from_name="firsttouch alerts",
        subject=alert.title,
        text=alert_text(alert),
        html=html,
        message_id=make_message_id(key, from_address),
    )
