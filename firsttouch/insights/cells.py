"""Keep text from an export from turning into a spreadsheet formula on the way out.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and
some also a leading tab or carriage return) as a formula; OWASP's "CSV
Injection" page lists these. Labels taken from an export pass through
``defuse_formula`` before they enter a report, so no writer can re-export one
as a formula.
"""

from __future__ import annotations

FORMULA_LEADS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def defuse_formula(text: str) -> str:
    """Return ``text`` with a leading apostrophe when a spreadsheet would run it."""
    if text.startswith(FORMULA_LEADS):
        return "'" + text

    return text


def label_of(value: object, missing: str = "(none)") -> str:
    """Return a display label for a raw export value, defused and trimmed."""
    if value is None or (isinstance(value, float) and value != value):
        return missing

    text = str(value).strip()
    if not text:
        return missing

    return defuse_formula(text[:120])
