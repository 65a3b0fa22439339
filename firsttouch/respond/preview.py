"""Render a workspace template for one stored inbound, sending nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from firsttouch.channels.sms_segments import SmsSize, measure_sms
from firsttouch.errors import NotFoundError
from firsttouch.respond.context import load_lead, owner_of, template_context
from firsttouch.respond.first_touch import booking_url
from firsttouch.respond.templates import Rendered, render_template, unknown_template

if TYPE_CHECKING:
    from firsttouch.runtime import Runtime


@dataclass(frozen=True)
class Preview:
    """A rendered template and what it would cost as a text."""

    rendered: Rendered
    sms: SmsSize
    owner_id: str


def preview_template(runtime: Runtime, name: str, inbound_id: int) -> Preview:
    """Render template ``name`` with inbound ``inbound_id``'s values.

    Raises ``NotFoundError`` for an unknown inbound and ``TemplateError``
    for an unknown template name (listing the known ones) or a template that
    cannot be rendered into a message fit to send.
    """
    if name not in runtime.workspace.templates:
        raise unknown_template(runtime.workspace.templates, name)
    with runtime.db.sessions() as session:
        lead = load_lead(session, inbound_id)
    if lead is None:
        raise NotFoundError(f"no inbound with id {inbound_id}")

    owner = owner_of(runtime.workspace, lead)
    context = template_context(
        runtime.workspace, lead, owner, booking_url(runtime, lead, owner)
    )
    rendered = render_template(runtime.workspace.templates, name, context)
    return Preview(rendered, measure_sms(rendered.text), owner.id)
