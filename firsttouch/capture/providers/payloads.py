"""Reading request bodies into Python values, with 400s that say why.

Kept separate from the adapters so every provider fails the same way on an
unreadable body: ``InputError`` naming the provider and the problem. A body
whose signature checked out but whose shape a parser did not expect (a
list where an object belongs, a number for a text) is the sender's error
too: ``reading`` turns whatever the parser raised into that 400, so a
provider is never answered 500 and left retrying a body that cannot change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from firsttouch.errors import FirsttouchError, InputError

# No provider nests its payload anywhere near this deep; a body that does is
# refused before a recursive parser (or the store's JSON) runs out of stack.
MAX_JSON_DEPTH = 64

# What a parser raises when a value has another type or shape than it
# assumed; anything else (the store, a bug in a helper) stays a 500.
SHAPE_ERRORS = (
    AttributeError,
    IndexError,
    KeyError,
    LookupError,
    RecursionError,
    TypeError,
    ValueError,
)


@contextmanager
def reading(provider: str) -> Iterator[None]:
    """Turn a parser's failure on a verified body into a 400 naming ``provider``.

    Use around the parse step only, never around the store: a 400 tells
    the sender to stop retrying.
    """
    try:
        yield
    except InputError as exc:
        # A parser's own 400 may name only the field; say whose payload it was.
        if type(exc) is not InputError or provider.lower() in str(exc).lower():
            raise
        raise InputError(f"{provider} payload: {exc}", field=exc.field) from exc
    except FirsttouchError:
        raise
    except ValidationError as exc:
        problem = _first_problem(exc)
        raise InputError(f"{provider} payload is unusable: {problem}") from exc
    except SHAPE_ERRORS as exc:
        raise InputError(
            f"{provider} payload has an unexpected shape ({type(exc).__name__}: "
            f"{_short(str(exc))}); check it against {provider}'s documented format"
        ) from exc


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in error.get("loc", ())) or "event"
    return f"{where}: {_short(str(error.get('msg', exc)))}"


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class FormFields:
    """An urlencoded body: first value by name, every value by ``getall``.

    ``getall`` is the method Twilio's ``RequestValidator`` looks for, so a
    repeated field is signed the way Twilio signs it.
    """

    def __init__(self, pairs: list[tuple[str, str]]):
        self.pairs = pairs
        self._first: dict[str, str] = {}
        for name, value in pairs:
            self._first.setdefault(name, value)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._first)

    def __contains__(self, name: object) -> bool:
        return name in self._first

    def __getitem__(self, name: str) -> str:
        return self._first[name]

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self._first.get(name)
        return default if value is None or value == "" else value

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def as_dict(self) -> dict[str, str]:
        return dict(self._first)


def read_form(body: bytes, provider: str) -> FormFields:
    """Parse an ``application/x-www-form-urlencoded`` body."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{provider} body is not a readable form: {exc}") from exc
    if body.strip() and not pairs:
        raise InputError(f"{provider} body has no form fields")
    return FormFields(pairs)


def read_json(body: bytes | str, provider: str) -> Any:
    """Parse a JSON body (or field) of any shape; 400 when unreadable or too deep."""
    try:
        value = json.loads(body)
    except RecursionError as exc:
        raise InputError(_too_deep(provider)) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{provider} body is not valid JSON: {exc}") from exc
    # Nesting needs an opening bracket per level: most bodies have too few
    # to be too deep, and counting bytes costs far less than walking them.
    data = body.encode("utf-8", "replace") if isinstance(body, str) else body
    brackets = data.count(b"{") + data.count(b"[")
    if brackets > MAX_JSON_DEPTH and json_depth(value) > MAX_JSON_DEPTH:
        raise InputError(_too_deep(provider))
    return value


def read_json_object(body: bytes, provider: str) -> dict[str, Any]:
    """Parse a JSON body that must be an object."""
    value = read_json(body, provider)
    if not isinstance(value, dict):
        raise InputError(
            f"{provider} body must be a JSON object, got {type(value).__name__}"
        )
    return value


def json_depth(value: Any) -> int:
    """How deeply ``value``'s lists and objects nest (a scalar is 0).

    Level by level, without recursion, so a hostile depth cannot exhaust
    the stack; it stops counting once past ``MAX_JSON_DEPTH``.
    """
    depth = 0
    level = [value] if isinstance(value, (dict, list)) else []
    while level and depth <= MAX_JSON_DEPTH:
        depth += 1
        inner: list[Any] = []
        for container in level:
            children = container.values() if isinstance(container, dict) else container
            inner += [c for c in children if isinstance(c, (dict, list))]
        level = inner
    return depth


def _too_deep(provider: str) -> str:
    return (
        f"{provider} body nests objects or lists more than {MAX_JSON_DEPTH} "
        "levels deep; no provider payload does, so it is refused"
    )


def raw_text(body: bytes) -> str:
    """The body as text for ``InboundEvent.raw`` (undecodable bytes replaced)."""
    return body.decode("utf-8", errors="replace")


def from_epoch(value: Any) -> datetime | None:
    """Turn seconds or milliseconds since the epoch into an aware UTC time."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    # LinkedIn sends milliseconds; anything past year 33658 in seconds is ms.
    if number > 1e12:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def from_iso(value: Any) -> datetime | None:
    """Parse an ISO 8601 time (``Z`` or ``+0000`` offsets) into UTC.

    None if unreadable, or if UTC cannot hold it: ``9999-12-31T23:59:59-12:00``
    is a valid time on a day after the last one Python can write.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    # Graph writes offsets without a colon (+0000), which 3.11 accepts.
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


# The field of an event's ``fields`` that keeps a provider's time as typed.
TIME_AS_TYPED = "occurred_at_as_typed"

TimeReader = Callable[[Any], datetime | None]


class ProviderTime(NamedTuple):
    """A provider's time: in UTC when it reads, else kept as typed."""

    at: datetime | None
    # Merged into the event's ``fields``: ``{TIME_AS_TYPED: text}`` or empty.
    as_typed: dict[str, str]


def read_time(value: Any, read: TimeReader = from_iso) -> ProviderTime:
    """Read a provider's time with ``read``; keep it as typed if it does not read.

    The event's ``occurred_at`` is then None, never a guess, and never a
    reason to refuse the lead: a person can still read the time in fields.
    """
    moment = read(value)
    return ProviderTime(moment, time_as_typed(value, moment))


def first_time(*times: ProviderTime) -> ProviderTime:
    """The first time that read; else the first kept as typed; else none."""
    readable = next((t for t in times if t.at is not None), None)
    typed = next((t for t in times if t.as_typed), ProviderTime(None, {}))
    return readable or typed


def time_as_typed(value: Any, parsed: datetime | None) -> dict[str, str]:
    """``{"occurred_at_as_typed": value}`` when a time was given but not read.

    Merged into an event's ``fields`` so a person can still read the
    provider's time when ``occurred_at`` had to be left empty. A number or
    an object is kept in its JSON form (``1e+30``, ``{"at": ...}``).
    """
    if parsed is not None or value is None:
        return {}
    if isinstance(value, str):
        return {TIME_AS_TYPED: value} if value.strip() else {}
    return {TIME_AS_TYPED: json.dumps(value, default=str, sort_keys=True)}


def text_or_none(value: Any) -> str | None:
    """Return a stripped non-empty string, or None; an object or a list is None."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def iana_zone(value: Any) -> str | None:
    """Return ``value`` if it names a real IANA time zone, else None."""
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return value
