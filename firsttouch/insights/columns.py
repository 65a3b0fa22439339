"""Map an export's column headers onto the normalised record.

HubSpot, Salesforce and Pipedrive each name the same facts differently
("Contact owner", "Lead Owner", "Person - Owner"). The tables below list,
for each record field, the headers that carry it, best first; the first one
present wins. Three extra fields are read and then folded into the record:
``status`` (a lead or deal status word), ``lifecycle`` (HubSpot's lifecycle
stage) and ``replied_on`` (a reply date that becomes the ``replied`` flag).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Source = Literal["auto", "hubspot", "salesforce", "pipedrive"]

FIELD_HEADERS: dict[str, tuple[str, ...]] = {
    "lead_id": (
        "record id",
        "lead id",
        "contact id",
        "deal id",
        "opportunity id",
        "person - id",
        "deal - id",
        "lead - id",
        "prospect id",
        "id",
        "lead number",
    ),
    "created_at": (
        "create date",
        "created date",
        "person - person created",
        "deal - deal created",
        "lead - lead created",
        "lead - created",
        "created at",
        "created",
        "date created",
        "created on",
        "createdate",
    ),
    "source": (
        "original source",
        "lead source",
        "deal - source origin",
        "person - source",
        "lead - source",
        "source",
        "lead origin source",
    ),
    "channel": (
        "channel",
        "deal - source channel",
        "lead - source channel",
        "source channel",
        "lead origin",
        "original source drill-down 1",
        "lead channel",
        "latest source",
    ),
    "owner": (
        "contact owner",
        "lead owner",
        "deal owner",
        "opportunity owner",
        "hubspot owner",
        "person - owner",
        "deal - owner",
        "lead - owner",
        "owner",
        "sales agent",
        "account owner",
        "assigned to",
    ),
    "first_touch_at": (
        "date of first engagement",
        "first engagement date",
        "first contacted",
        "first touch",
        "first touch at",
        "first response date",
        "first activity date",
        "deal - first activity date",
        "person - first activity date",
        "first call date",
        "first outreach date",
    ),
    "touches": (
        "number of sales activities",
        "number of times contacted",
        "deal - done activities",
        "person - done activities",
        "deal - total activities",
        "person - total activities",
        "activity count",
        "touches",
        "number of touches",
        "activities",
    ),
    "last_touch_at": (
        "last contacted",
        "last touch",
        "last touch at",
        "deal - last email sent",
        "last outreach date",
        "last call date",
    ),
    "replied": ("replied", "has replied", "responded"),
    "replied_on": (
        "recent sales email replied date",
        "deal - last email received",
        "person - last email received",
        "last reply date",
        "first reply date",
        "replied at",
        "last email received",
    ),
    "reply_touch": ("reply touch", "replied on touch"),
    "score": (
        "hubspot score",
        "lead score",
        "score",
        "rating",
        "lead rating",
        "lead quality",
    ),
    "disqualified": ("disqualified", "unqualified", "is disqualified"),
    "status": (
        "lead status",
        "deal - status",
        "lead - status",
        "status",
        "lead stage",
    ),
    "lifecycle": ("lifecycle stage",),
    "stage": (
        "deal stage",
        "stage",
        "deal - stage",
        "opportunity stage",
        "deal_stage",
        "pipeline stage",
    ),
    "deal_value": (
        "amount",
        "deal - value",
        "close value",
        "deal amount",
        "opportunity amount",
        "recent deal amount",
        "deal value",
        "value",
        "expected revenue",
    ),
    "won": ("won", "is won", "converted", "closed won"),
    "closed": ("closed", "is closed"),
    "closed_at": (
        "close date",
        "closed date",
        "deal - close time",
        "deal - won time",
        "closed at",
        "close time",
        "became a customer date",
    ),
    "stage_entered_at": (
        "date entered current stage",
        "deal - last stage change",
        "last stage change date",
        "last stage change",
        "stage entered",
        "stage entered at",
        "engage date",
        "engage_date",
    ),
    "last_activity_at": (
        "last activity date",
        "deal - last activity date",
        "person - last activity date",
        "last activity",
        "last engagement date",
        "last activity at",
        "time of last engagement",
    ),
    "logged_at": ("logged at", "activity logged at", "last logged"),
    "next_step_at": (
        "next activity date",
        "deal - next activity date",
        "person - next activity date",
        "next step date",
        "next activity",
        "next step at",
    ),
}

# Headers that only one CRM writes; enough of them name the export's source.
SIGNATURES: dict[str, frozenset[str]] = {
    "hubspot": frozenset(
        {
            "record id",
            "create date",
            "contact owner",
            "original source",
            "hubspot score",
            "lifecycle stage",
            "last contacted",
            "deal owner",
            "number of sales activities",
            "date of first engagement",
            "original source drill-down 1",
            "recent deal amount",
        }
    ),
    "salesforce": frozenset(
        {
            "lead id",
            "created date",
            "lead owner",
            "lead source",
            "opportunity id",
            "opportunity owner",
            "rating",
            "account name",
            "last activity",
            "last stage change date",
            "lead status",
        }
    ),
}

_PIPEDRIVE_PREFIXES = (
    "person - ",
    "deal - ",
    "organization - ",
    "lead - ",
    "activity - ",
)


@dataclass(frozen=True)
class MappedColumn:
    """An export column chosen for a field: its position and header as written."""

    position: int
    header: str


@dataclass
class ColumnMapping:
    """The auto-mapper's answer for one header row."""

    source: str
    detection_note: str
    by_field: dict[str, MappedColumn]
    unmapped: list[str]
    notes: list[str] = field(default_factory=list)

    def missing(self, wanted: tuple[str, ...]) -> list[str]:
        """Return the wanted record fields that no column feeds."""
        return [name for name in wanted if not self._feeds(name)]

    def _feeds(self, name: str) -> bool:
        if name in self.by_field:
            return True

        folded = {
            "replied": ("replied_on",),
            "won": ("status", "lifecycle", "stage"),
            "closed": ("status", "stage", "won"),
            "disqualified": ("status",),
        }
        return any(helper in self.by_field for helper in folded.get(name, ()))


def normalise_header(header: str) -> str:
    """Return a header in the form the tables use: lower case, single spaces."""
    text = header.replace("\ufeff", "").replace("_", " ").strip().lower()
    return re.sub(r"\s+", " ", text)


def detect_source(headers: list[str]) -> tuple[str, str]:
    """Name the CRM that wrote these headers, with the evidence."""
    keys = [normalise_header(header) for header in headers]
    prefixed = sum(1 for key in keys if key.startswith(_PIPEDRIVE_PREFIXES))
    if prefixed >= 2:
        return "pipedrive", f"{prefixed} headers use Pipedrive's 'Person - ' style"

    counts = {name: len(SIGNATURES[name].intersection(keys)) for name in SIGNATURES}
    best = max(counts, key=lambda name: counts[name])
    if counts[best] >= 2:
        return best, f"{counts[best]} headers match {best.title()}'s export"

    return "generic", "no CRM's header set recognised; matched by common names"


def map_columns(headers: list[str], source: Source = "auto") -> ColumnMapping:
    """Choose, for each record field, the export column that carries it."""
    detected, note = detect_source(headers)
    if source != "auto":
        note = f"source given as {source}; headers suggest {detected}"
        detected = source

    keys = [normalise_header(header) for header in headers]
    first_position: dict[str, int] = {}
    notes: list[str] = []
    for position, key in enumerate(keys):
        if key in first_position:
            notes.append(f"header {headers[position]!r} repeats; the first is used")
            continue

        first_position[key] = position

    by_field: dict[str, MappedColumn] = {}
    taken: set[int] = set()
    for name, candidates in FIELD_HEADERS.items():
        for candidate in candidates:
            found = first_position.get(candidate)
            if found is not None and found not in taken:
                by_field[name] = MappedColumn(found, headers[found])
                taken.add(found)
                break

    unmapped = [
        header for position, header in enumerate(headers) if position not in taken
    ]
    return ColumnMapping(detected, note, by_field, unmapped, notes)
