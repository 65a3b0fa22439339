"""Render every workspace template against sample leads, as a send would.

A template that names a value no lead has (``{{ owner.nmae }}``) parses,
so only a render finds it; left to the first real lead, every first touch
it renders is blocked. ``check_templates`` renders each template with the
same sandbox, fallbacks and broken-merge check as a send, for an email lead
and an SMS lead, each with and without the optional fields, on every route
and with every rep as owner. It sends nothing and needs no database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from firsttouch.errors import WorkspaceProblem
from firsttouch.qualify.routes import ROUTES
from firsttouch.respond.context import Lead, template_context
from firsttouch.respond.templates import TemplateError, render_template
from firsttouch.workspace import Workspace
from firsttouch.workspace.loader import template_file
from firsttouch.workspace.team import Rep

# Reserved for documentation (RFC 2606): a sample link reaches no one.
SAMPLE_BOOKING_URL = "https://booking.example/b/sample"

_BARE = Lead(
    inbound_id=0,
    channel="email",
    source="sample",
    kind="message",
    status="new",
    received_at=None,
    first_touch_at=None,
    first_touch_due_at=None,
    subject=None,
    message_id=None,
    in_reply_to=None,
    fields={},
    campaign=None,
    owner_id=None,
    contact_id=None,
    first_name=None,
    last_name=None,
    email=None,
    phone=None,
    company=None,
    title=None,
    timezone=None,
    country=None,
    region=None,
    route=None,
)


def _full(lead: Lead) -> Lead:
    return replace(
        lead,
        subject="Pricing for the team",
        fields={"topic": "pricing"},
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines Ltd",
        title="Head of Finance",
    )


_EMAIL = replace(_BARE, channel="email", email="ada@example.com")
_SMS = replace(_BARE, channel="sms", kind="message", phone="+15555550100")

SAMPLE_LEADS = {
    "an email lead with a name, company and topic": _full(_EMAIL),
    "an email lead with only an address": _EMAIL,
    "an SMS lead with a name, company and topic": _full(_SMS),
    "an SMS lead with only a number": _SMS,
}


@dataclass(frozen=True)
class _Failure:
    template: str
    line: int | None
    error: str


def check_templates(workspace: Workspace) -> list[WorkspaceProblem]:
    """Return each template that fails to render for some sample lead.

    One problem per template, line and error, naming the first sample that
    met it; an empty list when every template renders for every sample.
    """
    main = workspace.source_path or Path("firsttouch.yaml")
    seen: dict[_Failure, str] = {}
    for name in sorted(workspace.templates):
        for sample, lead, owner in _samples(workspace):
            try:
                context = template_context(workspace, lead, owner, SAMPLE_BOOKING_URL)
                render_template(workspace.templates, name, context)
            except TemplateError as exc:
                failure = _Failure(name, exc.line, str(exc).rstrip("."))
                seen.setdefault(failure, sample)

    problems = []
    for failure, sample in seen.items():
        file = template_file(main, failure.template)
        line = failure.line
        where = ""
        if file == main and line is not None:
            # Written inline in the YAML: the line is the template's own.
            where, line = f" (line {line} of the template)", None
        problems.append(
            WorkspaceProblem(
                str(file),
                line,
                f"templates.{failure.template}",
                f"{failure.error}{where}; met rendering it for {sample}",
            )
        )
    return problems


def _samples(workspace: Workspace) -> Iterator[tuple[str, Lead, Rep]]:
    """Each sample lead on each route (and none yet), owned by each rep."""
    for sample, lead in SAMPLE_LEADS.items():
        for route in (None, *ROUTES):
            on = f"route {route}" if route else "no route yet"
            for owner in workspace.team.reps:
                described = f"{sample}, {on}, owned by {owner.id}"
                yield described, replace(lead, route=route), owner
