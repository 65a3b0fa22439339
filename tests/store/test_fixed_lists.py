"""Lists fixed in the code are written into the SQL, and only plain names."""

from __future__ import annotations

import pytest
from sqlalchemy import column, select, table
from sqlalchemy.dialects import postgresql, sqlite

from firsttouch.store.fixed_lists import none_of, one_of

TOUCHES = table("touches", column("status"))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_the_values_are_in_the_statement_not_a_parameter(dialect) -> None:  # type: ignore[no-untyped-def]
    statement = select(TOUCHES.c.status).where(
        one_of(TOUCHES.c.status, ["sent", "queued"]),
        none_of(TOUCHES.c.status, ["failed"]),
    )
    compiled = statement.compile(dialect=dialect)

    sql = str(compiled)
    assert "IN ('queued', 'sent')" in sql
    assert "NOT IN ('failed')" in sql
    assert "POSTCOMPILE" not in sql and not compiled.params


@pytest.mark.parametrize("value", ["x' OR '1'='1", "", "two words", "a;b", "é"])
def test_anything_but_a_plain_name_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="not a plain name"):
        one_of(TOUCHES.c.status, [value])
