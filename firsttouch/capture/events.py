"""The one shape every channel's payload is parsed into before it is stored.

Each provider adapter (form, email, Twilio, Meta, Calendly, ...) turns its
own wire format into an ``InboundEvent``; ``capture_inbound`` then stores
every event the same way, whatever channel it came from.

Whatever an event holds must be storable on SQLite and PostgreSQL alike, or
a provider is told 2xx for a lead that is then lost. So every event, and
every copy of one, is cleaned as it is built, whichever entry path built
it: text loses lone surrogates and NULs (both become U+FFFD), numbers that
JSON cannot carry (NaN, infinities) become their text, and ids longer than
their columns are refused with a reason. An address that cannot reach
anyone (an email without an ``@``, a phone without digits) is never the
person's: it is kept in ``fields`` as ``email_as_typed`` or
``phone_as_typed`` for a person to read. The person's other facts are cut
to their columns (an integer no column holds is dropped), the whole value
kept the same way as ``<name>_as_typed``; and ``occurred_at`` is UTC, or
None with ``occurred_at_as_typed`` when UTC cannot hold the time given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from firsttouch.capture.identity import could_be_phone, normalise_email
from firsttouch.capture.inbound_channels import Channel
from firsttouch.store.models import Company, Contact

# Column widths of ``inbounds`` (store/models/inbound.py): a longer id would
# be refused by PostgreSQL and silently kept by SQLite.
ID_LIMIT = 255
MESSAGE_ID_LIMIT = 998
SOURCE_LIMIT = 120

# The column each of the person's facts is stored in: their widths and
# integer ranges are read from the models, so a fact never outgrows its
# column (PostgreSQL refuses it, SQLite keeps it) after a 2xx. A full name
# is split into first and last name before it is stored; the website is
# kept in JSON, whatever its length.
_PERSON_COLUMNS = {
    "phone": Contact.phone,
    "first_name": Contact.first_name,
    "last_name": Contact.last_name,
    "full_name": Contact.first_name,
    "title": Contact.title,
    "company": Contact.company_name,
    "region": Contact.region,
    "timezone": Contact.timezone,
    "industry": Company.industry,
    "employees": Company.employee_count,
}

# What a column of each SQL integer type holds on both engines.
_INTEGER_LIMITS = {"SMALLINT": 2**15 - 1, "INTEGER": 2**31 - 1, "BIGINT": 2**63 - 1}

# Facts read as one line: a line break or other control character in them
# would break the greeting or header they are written into.
_ONE_LINE = ("first_name", "last_name", "full_name", "title", "company", "industry")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _width(column: Any) -> int | None:
    return getattr(column.type, "length", None)


def _largest(column: Any) -> int | None:
    return _INTEGER_LIMITS.get(type(column.type).__visit_name__.upper())


def _holds(largest: int | None, value: int) -> bool:
    return largest is None or -largest - 1 <= value <= largest


# Read once: (characters, largest magnitude) each fact's column holds.
_FACT_LIMITS = {
    name: (_width(column), _largest(column)) for name, column in _PERSON_COLUMNS.items()
}


Kind = Literal[
    "form",
    "message",
    "reply",
    "call",
    "missed_call",
    "voicemail",
    "chat",
    "lead_ad",
    "meeting",
    "referral",
    "import",
    "status",
    "opt_out",
]


def storable(value: Any) -> Any:
    """Return ``value`` with its text and numbers storable on both engines.

    Strings (dictionary keys too) lose lone surrogates and NULs; NaN and the
    infinities, which JSONB refuses, become the text JSON senders wrote.
    """
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return (
            "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        )
    if isinstance(value, dict):
        return {storable_text(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    return value


def storable_text(text: str) -> str:
    """Return ``text`` with lone surrogates and NULs replaced by U+FFFD."""
    if text.isascii():
        return text.replace("\x00", "\ufffd") if "\x00" in text else text
    if "\x00" in text:
        # PostgreSQL text and JSONB refuse U+0000, which broken mail carries.
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A JSON escape such as "\ud800" decodes to a lone surrogate, which
        # no UTF-8 store accepts. UTF-16 joins a valid pair and replaces
        # the lone halves.
        raw = text.encode("utf-16", errors="surrogatepass")
        text = raw.decode("utf-16", errors="replace")
    return text


class PersonFacts(BaseModel):
    """What the payload says about the person, before identity resolution."""

    model_config = ConfigDict(extra="forbid")

    # Addresses given but unusable, kept for the event's fields (see
    # ``InboundEvent``), never used to reach anyone.
    _as_typed: dict[str, str] = PrivateAttr(default_factory=dict)

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    title: str | None = None
    company: str | None = None
    website: str | None = None
    country: str | None = None
    region: str | None = None
    timezone: str | None = None
    employees: int | None = None
    industry: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable(value)

    @model_validator(mode="after")
    def _fit_columns(self) -> Self:
        """Bound every fact to its column, keeping a shortened one as typed."""
        for name in _ONE_LINE:
            text = getattr(self, name)
            if text is not None and _CONTROL.search(text):
                setattr(self, name, _CONTROL.sub(" ", text))
        for name, (width, largest) in _FACT_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, str) and width is not None and len(value) > width:
                # A shortened phone would be someone else's number.
                self._as_typed[name] = value
                setattr(self, name, None if name == "phone" else value[:width])
            elif isinstance(value, int) and not _holds(largest, value):
                # Kept as text, which JSON holds whatever its size.
                self._as_typed[name] = str(value)
                setattr(self, name, None)
        return self

    @model_validator(mode="after")
    def _usable_addresses(self) -> Self:
        """Drop an email or phone no one could be reached at, keeping the text."""
        if self.email is not None and normalise_email(self.email) is None:
            if self.email.strip():
                self._as_typed["email"] = self.email
            self.email = None
        if self.phone is not None and not could_be_phone(self.phone, self.country):
            if self.phone.strip():
                self._as_typed["phone"] = self.phone
            self.phone = None
        return self

    @property
    def as_typed(self) -> dict[str, str]:
        """Facts unusable or too long as given, by name, as the sender typed them."""
        return dict(self._as_typed)

    def filled_from(self, other: PersonFacts) -> PersonFacts:
        """These facts with the gaps filled from ``other`` (typed text kept)."""
        filled = {
            name: getattr(self, name) or getattr(other, name)
            for name in PersonFacts.model_fields
        }
        merged = PersonFacts(**filled)
        merged._as_typed = {**other._as_typed, **self._as_typed, **merged._as_typed}
        return merged

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self:
        """Copy, validating the updated values as a new instance would be."""
        return _validated_copy(
            self, super().model_copy(update=update, deep=deep), update
        )


class InboundEvent(BaseModel):
    """One provider event, parsed and ready to be captured.

    ``dedupe_key`` must be stable across the provider's retries (its own
    message id, lead id, call sid + status, booking uid). ``raw`` is the body
    exactly as received.
    """

    model_config = ConfigDict(extra="forbid")

    dedupe_key: str = Field(min_length=1, max_length=255)
    channel: Channel
    kind: Kind
    source: str
    provider: str
    provider_event_id: str | None = None
    occurred_at: datetime | None = None
    person: PersonFacts = Field(default_factory=PersonFacts)
    subject: str | None = None
    body_text: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    campaign: str | None = None
    utm: dict[str, str] = Field(default_factory=dict)
    raw: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    default_region: str | None = None
    # Events that are not leads (a delivery status, a deletion) are recorded
    # but create no contact and start no first response.
    creates_lead: bool = True

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable(value)

    @field_validator("dedupe_key", "provider_event_id", "message_id")
    @classmethod
    def _id_fits(cls, value: str | None, info: Any) -> str | None:
        limit = MESSAGE_ID_LIMIT if info.field_name == "message_id" else ID_LIMIT
        if value is not None and len(value) > limit:
            raise ValueError(
                f"the event's {info.field_name} is {len(value):,} characters long; "
                f"ids of more than {limit} characters are refused (check the "
                "provider's id or message id in the payload)"
            )
        return value

    @field_validator("in_reply_to")
    @classmethod
    def _reply_id_fits(cls, value: str | None) -> str | None:
        # Only threading hangs on it: an over-long one is dropped, not refused.
        return value if value is None or len(value) <= MESSAGE_ID_LIMIT else None

    @field_validator("campaign")
    @classmethod
    def _campaign_fits(cls, value: str | None) -> str | None:
        return value[:ID_LIMIT] if value else value

    @field_validator("source")
    @classmethod
    def _source_fits(cls, value: str) -> str:
        return value[:SOURCE_LIMIT]

    @model_validator(mode="after")
    def _keep_addresses_as_typed(self) -> Self:
        """Put the person's unusable or shortened facts into ``fields``."""
        for name, text in self.person.as_typed.items():
            self.fields.setdefault(f"{name}_as_typed", text)
        return self

    @model_validator(mode="after")
    def _occurred_in_utc(self) -> Self:
        """Keep ``occurred_at`` in UTC; a time UTC cannot hold is dropped.

        ``Fri, 31 Dec 9999 23:59:59 -1200`` is a valid time, but a day past
        the last one Python (and so the store) can write in UTC: it is kept
        as typed in ``fields``, never an error that makes the sender retry.
        """
        when = self.occurred_at
        if when is None:
            return self
        if when.tzinfo is None:
            self.occurred_at = when.replace(tzinfo=UTC)
            return self
        try:
            self.occurred_at = when.astimezone(UTC)
        except OverflowError:
            self.fields.setdefault("occurred_at_as_typed", when.isoformat())
            self.occurred_at = None
        return self

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self:
        """Copy, validating the updated values as a new event would be."""
        return _validated_copy(
            self, super().model_copy(update=update, deep=deep), update
        )


M = TypeVar("M", bound=BaseModel)


def _validated_copy(original: M, copied: M, update: Mapping[str, Any] | None) -> M:
    """``copied`` built again through validation when ``update`` changed it.

    Pydantic's ``model_copy`` skips validation; an event completed by a
    provider (a fetched contact, rebuilt fields) must be cleaned all the same.
    """
    if not update:
        return copied
    values = {name: getattr(copied, name) for name in type(copied).model_fields}
    rebuilt = type(original).model_validate(values)
    if isinstance(original, PersonFacts) and isinstance(rebuilt, PersonFacts):
        rebuilt._as_typed = {**original._as_typed, **rebuilt._as_typed}
    return rebuilt
