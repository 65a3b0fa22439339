"""The demo's leads as the data set says they were handled, for comparison.

The lead data set does not record when anyone answered a lead, so the
"respond" layer of this report honestly says it has no data. What it does
record is read as follows, and nothing more is inferred:

- ``Last Activity`` naming an email, SMS or call to the buyer counts as one
  touch; the call outcomes in ``Tags`` (Ringing, Busy, switched off) as one
  more attempt.
- A phone conversation or a received email counts as a reply.
- ``Lead Quality`` is the team's own fit judgement, put on our 0-100 scale
  (High in Relevance 90, Might be 60, Not Sure 40, Low in Relevance 25,
  Worst 5); tags that rule a lead out (not interested in this product,
  wrong number, already a customer elsewhere) mark it disqualified.
- ``Converted`` is the outcome: a won, closed deal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from firsttouch.demo.profiles import LeadProfile

_TOUCH_ACTIVITIES = {
    "email opened",
    "email link clicked",
    "sms sent",
    "email bounced",
    "had a phone conversation",
    "unreachable",
    "unsubscribed",
    "email received",
    "email marked spam",
    "resubscribed to emails",
    "view in browser link clicked",
}
_CALL_TAGS = {"ringing", "busy", "switched off"}
_REPLY_ACTIVITIES = {"had a phone conversation", "email received"}
_QUALITY = {
    "high in relevance": 90,
    "might be": 60,
    "not sure": 40,
    "low in relevance": 25,
    "worst": 5,
}
_RULED_OUT_TAGS = (
    "not doing further education",
    "interested in other courses",
    "wrong number",
    "invalid number",
    "number not provided",
    "already a student",
    "lost to",
    "diploma holder",
    "in confusion",
)


def record_for(profile: LeadProfile, arrived: datetime, channel: str) -> dict[str, Any]:
    """One normalised leak-score record for a data-set lead."""
    activity = profile.last_activity.lower()
    tags = profile.tags.lower()
    touches = int(activity in _TOUCH_ACTIVITIES) + int(tags in _CALL_TAGS)
    return {
        "lead_id": profile.row_id,
        "created_at": arrived,
        "source": profile.source or None,
        "channel": channel,
        "touches": touches,
        "replied": activity in _REPLY_ACTIVITIES,
        "score": _QUALITY.get(profile.quality.lower()),
        "disqualified": any(tags.startswith(t) for t in _RULED_OUT_TAGS),
        "won": profile.converted,
        "closed": profile.converted,
    }


def records_as_handled(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The records frame ``report_from_records`` scores."""
    return pd.DataFrame(rows)
