"""Import a page of Typeform's Responses API: the responses a webhook missed.

``GET https://api.typeform.com/forms/{form_id}/responses`` answers a page of
``items``; saved to a file, ``firsttouch import-typeform PAGE.json`` stores
each response as the webhook would have, under the same key, so a response
that did arrive by webhook is not stored again. The page is written in one
transaction: all of it or, on a bad item, none of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from firsttouch.capture.ingest import ingest
from firsttouch.capture.providers.typeform import parse_typeform_responses
from firsttouch.runtime import Runtime


@dataclass(frozen=True)
class ResponsesImport:
    """What one page became."""

    leads: int
    recorded: int
    duplicates: int


def import_responses(runtime: Runtime, body: bytes) -> ResponsesImport:
    """Store every response of the page; raise ``InputError`` before any write."""
    events = parse_typeform_responses(body)
    leads = recorded = duplicates = 0
    with runtime.db.transaction() as session:
        for event in events:
            result = ingest(runtime, event, session=session)
            if result.duplicate:
                duplicates += 1
            elif result.created_lead:
                leads += 1
            else:
                recorded += 1
    return ResponsesImport(leads, recorded, duplicates)
