"""Mail from our own addresses is recorded, never taken for a lead.

The sending address (``channels.smtp.from_address``), the reps' addresses
and the team's alert inboxes reach the capture mailbox too: a rep copying
it in, a bounce of our own first touch coming back through a forwarder, a
test. Answering one would send an introduction to ourselves and count a
colleague as a buyer. Every mail path (SMTP listener, IMAP, provider
webhooks) ends in ``ingest``, which applies this before deciding what an
event becomes; a webhook's answer applies it too, so its ``not_leads``
says why.

A forward is judged by the buyer it names, not by the colleague who
forwarded it (``email_parse``), so a rep forwarding a buyer's mail still
makes a lead.
"""

from __future__ import annotations

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.identity import normalise_email
from firsttouch.workspace import Workspace

OWN_ADDRESS = "sent by the team's own address (our sender or a rep), not a buyer"


def own_addresses(workspace: Workspace) -> frozenset[str]:
    """The comparable forms of every address the workspace itself writes from."""
    channels = workspace.channels
    addresses = [rep.email for rep in workspace.team.reps]
    if channels.smtp is not None:
        addresses.append(channels.smtp.from_address)
    for notification in channels.notifications:
        if notification.kind == "email":
            addresses.extend(notification.to)
    return frozenset(n for n in map(normalise_email, addresses) if n)


def mark_own_mail(workspace: Workspace, event: InboundEvent) -> InboundEvent:
    """Return ``event`` as a not-lead when our own address sent it, else as is."""
    if event.channel != "email" or not event.creates_lead:
        return event
    sender = normalise_email(event.person.email)
    if sender is None or sender not in own_addresses(workspace):
        return event
    fields = {**event.fields, "not_a_lead": OWN_ADDRESS}
    return event.model_copy(update={"creates_lead": False, "fields": fields})
