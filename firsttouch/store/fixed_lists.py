"""``column IN ('a', 'b')`` for lists fixed in the code, written into the SQL.

SQLAlchemy sends a list given to ``in_`` as an expanding parameter and
rewrites the statement's text on every execution to fit it: on the hot
paths (the consent gate, the job claim) that rewriting cost more than
SQLite's own work for the statement. A list that is part of the code (job
kinds, channels, touch states) is written into the statement once instead,
which also lets the planner choose an index by its values. Only plain names
are accepted, so nothing here can carry SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, literal_column

# What a fixed value may be: "respond.first_touch", "sms", "sent".
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]*")


def fixed_values(values: Iterable[str]) -> list[ColumnElement[Any]]:
    """``values`` as SQL string literals; ValueError for anything but a name."""
    written: list[ColumnElement[Any]] = []
    for value in values:
        if not _PLAIN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a plain name and cannot be written into SQL"
            )
        written.append(literal_column(f"'{value}'"))
    return written


def one_of(column: ColumnElement[Any], values: Iterable[str]) -> ColumnElement[bool]:
    """``column IN (values)``, the values written into the statement."""
    return column.in_(fixed_values(sorted(values)))


def none_of(column: ColumnElement[Any], values: Iterable[str]) -> ColumnElement[bool]:
    """``column NOT IN (values)``, the values written into the statement."""
    return column.not_in(fixed_values(sorted(values)))
