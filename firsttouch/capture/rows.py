"""New rows written by one prebuilt Core INSERT, then kept in the session.

A new lead writes a company, a contact and an inbound. Through the ORM each
costs a unit-of-work flush, several times the INSERT itself; here each is
one statement built once at import. The written object is then attached to
the session as a persistent row (``make_transient_to_detached``), so later
reads in the same transaction (the importer's next row, ``session.get``)
find it in the identity map exactly as if the ORM had flushed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session, make_transient_to_detached

from firsttouch.store.models import Base
from firsttouch.store.prepared import Prepared

Model = TypeVar("Model", bound=Base)


def row_values(obj: Base) -> dict[str, Any]:
    """Every column of ``obj`` but its key, with the column's default where unset.

    Every attribute ends up set on ``obj`` too: an unset one would be
    expired once the object is attached, and reading it would cost a SELECT.
    """
    table = cast(Table, obj.__table__)
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.primary_key:
            continue
        key = column.key
        if key in obj.__dict__:
            values[key] = obj.__dict__[key]
            continue
        default = column.default
        value: Any = None
        if default is not None:
            # What the INSERT would have evaluated: a scalar or a callable
            # that Core calls with its execution context (which ours ignore).
            arg: Any = getattr(default, "arg", None)
            value = arg(None) if getattr(default, "is_callable", False) else arg
        setattr(obj, key, value)
        values[key] = value
    return values


def insert_new(session: Session, obj: Base, statement: Prepared) -> int | None:
    """Write ``obj`` with ``statement`` (an INSERT ... RETURNING its id).

    Returns the new id and leaves ``obj`` persistent in ``session``; returns
    None, leaving ``obj`` out of the session, when the statement inserted
    nothing (an ``ON CONFLICT DO NOTHING`` that met an existing row).
    """
    new_id = statement.run(session.connection(), row_values(obj)).scalar()
    if new_id is None:
        return None
    obj.id = new_id  # type: ignore[attr-defined]
    make_transient_to_detached(obj)
    session.add(obj)
    return cast(int, new_id)


def attach_row(session: Session, cls: type[Model], row: Mapping[Any, Any]) -> Model:
    """The session's object for a whole row read with Core.

    The object the session already holds for that key, as an ORM query
    would return it; else one built from ``row`` and attached as persistent,
    without the ORM's per-row loading machinery.
    """
    key = session.identity_key(cls, row["id"])
    held = session.identity_map.get(key)
    if held is not None:
        return cast(Model, held)
    obj = cls(**row)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
