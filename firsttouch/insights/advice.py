"""Name the biggest leak in plain words and say what to do about it."""

from __future__ import annotations

from collections.abc import Callable

from firsttouch.insights.results import LayerName, LayerResult, Leak, ScorePart


def duration_words(minutes: float | None) -> str:
    """Say a number of minutes the way a person would."""
    if minutes is None:
        return "an unknown time"
    if minutes < 1:
        return "under a minute"
    if minutes < 90:
        return f"{minutes:.0f} minutes"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} hours"
    return f"{minutes / 1440:.1f} days"


HEADLINES: dict[str, Callable[[ScorePart], str]] = {
    "no_source": lambda p: (
        f"{p.metric}% of inbound arrives with no source, so you "
        "cannot tell which channels pay for themselves."
    ),
    "no_owner": lambda p: (
        f"{p.metric}% of inbound has no owner, so nobody is on the hook to answer it."
    ),
    "median_response": lambda p: (
        f"Leads wait a median of {duration_words(p.metric)} "
        "for a first touch; the odds of reaching a buyer fall steeply after "
        "five minutes."
    ),
    "within_5": lambda p: f"Only {p.metric}% of leads hear back within 5 minutes.",
    "never": lambda p: f"{p.metric}% of leads are never touched at all.",
    "owned_and_scored": lambda p: (
        f"Only {p.metric}% of leads carry "
        + ("an owner and a fit score" if "owner" in p.label else "a fit score")
        + ", so reps cannot tell whom to call first."
    ),
    "time_on_disqualified": lambda p: (
        f"{p.metric}% of rep touches go to leads that are later disqualified."
    ),
    "touches_median": lambda p: (
        f"Reps give up on unanswered leads after a median of {p.metric:g} "
        f"{'touch' if p.metric == 1 else 'touches'}."
    ),
    "worked_5_plus": lambda p: (
        f"Only {p.metric}% of unanswered leads are worked five or more times."
    ),
    "gone_quiet": lambda p: (
        f"{p.metric}% of open leads have gone quiet with no next step booked."
    ),
    "stuck_deals": lambda p: (
        f"{p.metric}% of open deals sit in their stage past its age limit."
    ),
    "recent_activity": lambda p: (
        f"Only {p.metric}% of open deals have recent activity logged."
    ),
    "log_lag": lambda p: (
        f"Activities reach the CRM a median of {p.metric:g} "
        f"{'hour' if p.metric == 1 else 'hours'} after they happen."
    ),
}

ADVICE: dict[LayerName, list[str]] = {
    "capture": [
        "Make source a required hidden field on every form, import and lead-ad "
        "connection, and stamp it at capture.",
        "Assign an owner the moment an inbound lands (round robin or territory), "
        "with a fallback queue so nothing is left unowned.",
    ],
    "respond": [
        "Send a personal first touch automatically within a minute of every inbound, "
        "at any hour, with a booking link.",
        "Alert the owner at once and escalate to a second rep when the 5-minute SLA "
        "passes.",
        "Cover evenings and weekends: that is when many buyers fill in forms.",
    ],
    "qualify": [
        "Score every lead against a written ideal customer profile as it arrives, "
        "and show the rep why it scored as it did.",
        "Route misfits to a nurture sequence so reps spend their calls on fits.",
    ],
    "nurture": [
        "Put every unanswered lead on a sequence of at least five touches over two "
        "weeks, across email, phone and SMS.",
        "Never leave an open lead without a scheduled next step; pause only when a "
        "person replies.",
    ],
    "crm": [
        "Review every open deal past its stage limit: move it, close it, or book "
        "the next step.",
        "Log activities automatically from email, calls and meetings so the CRM is "
        "current without data entry.",
    ],
}


def biggest_leak(layers: list[LayerResult]) -> Leak | None:
    """The lowest-scoring layer (earliest in the flow on a tie), or None."""
    scored = [layer for layer in layers if layer.score is not None]
    if not scored:
        return None

    worst = min(scored, key=lambda layer: layer.score or 0)
    return Leak(
        layer=worst.layer,
        title=worst.title,
        score=worst.score or 0,
        headline=_headline(worst),
        advice=ADVICE[worst.layer],
    )


def _headline(layer: LayerResult) -> str:
    # The part that costs the layer most points speaks for it.
    parts = [part for part in layer.parts if part.score is not None]
    worst = max(parts, key=lambda part: (100 - (part.score or 0)) * part.weight)
    lead = f"{layer.title} leaks most (score {layer.score}/100)."
    say = HEADLINES.get(worst.key)
    return f"{lead} {say(worst)}" if say else f"{lead} {worst.label}: {worst.metric}"
