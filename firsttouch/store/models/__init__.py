"""All models, imported here so ``Base.metadata`` knows every table."""

from firsttouch.store.models.accounts import ApiKey, User
from firsttouch.store.models.base import Base
from firsttouch.store.models.contacts import Company, Contact, ContactMerge
from firsttouch.store.models.crm import Activity, Deal, Task
from firsttouch.store.models.imap import ImapCursor
from firsttouch.store.models.inbound import Inbound, RoutingDecision
from firsttouch.store.models.jobs import Job
from firsttouch.store.models.lead_polling import LeadPollCursor
from firsttouch.store.models.outreach import LedgerEntry, OptOut, Touch
from firsttouch.store.models.qualify import EnrichmentCacheEntry, Qualification
from firsttouch.store.models.respond import (
    ConsentEvent,
    Meeting,
    OutboxMessage,
    SendCounter,
    SlaEvent,
)

__all__ = [
    "Activity",
    "ApiKey",
    "Base",
    "Company",
    "ConsentEvent",
    "Contact",
    "ContactMerge",
    "Deal",
    "EnrichmentCacheEntry",
    "ImapCursor",
    "Inbound",
    "Job",
    "LeadPollCursor",
    "LedgerEntry",
    "Meeting",
    "OptOut",
    "OutboxMessage",
    "Qualification",
    "RoutingDecision",
    "SendCounter",
    "SlaEvent",
    "Task",
    "Touch",
    "User",
]
