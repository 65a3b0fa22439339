"""Read yes/no flags and amounts the way CRMs write them.

Amounts come as ``1054``, ``1,054.00``, ``$1,054`` or ``1.054,00`` (a
European export with ``;`` between fields); flags as true/false, yes/no,
1/0 or a stage word such as "Won". What cannot be read is reported, not
guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

TRUE_WORDS = frozenset(
    {"true", "yes", "y", "1", "t", "x", "won", "closed won", "closedwon", "converted"}
)
FALSE_WORDS = frozenset(
    {"false", "no", "n", "0", "f", "lost", "closed lost", "closedlost", "not converted"}
)

_GROUPED_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+")
_CURRENCY = re.compile(r"[\s$€£¥\u00a0\u202f']|\b[A-Z]{3}\b")
_AMOUNT = re.compile(r"-?[\d.,]+")


@dataclass(frozen=True)
class ParsedValues:
    """A parsed column and the mask of raw values that could not be read."""

    values: pd.Series
    failed: pd.Series


def parse_flags(raw: pd.Series) -> ParsedValues:
    """Parse yes/no words into a nullable boolean column."""
    words = raw.astype("object").where(raw.notna(), None)
    lowered = words.map(
        lambda value: None if value is None else str(value).strip().lower()
    )
    flags = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    flags[lowered.isin(TRUE_WORDS)] = True
    flags[lowered.isin(FALSE_WORDS)] = False
    failed = lowered.notna() & flags.isna()
    return ParsedValues(flags, failed)


def parse_numbers(raw: pd.Series) -> ParsedValues:
    """Parse amounts and counts into float64; blanks stay NaN."""
    numbers = pd.to_numeric(raw, errors="coerce").astype("float64")
    slow = numbers.isna() & raw.notna()
    if slow.any():
        numbers[slow] = raw[slow].map(_read_amount)

    failed = raw.notna() & numbers.isna()
    return ParsedValues(numbers, failed)


def _read_amount(text: object) -> float:
    # Only a currency sign or code and spacing may surround the number;
    # "=2+3" or "call 555-1234" is not an amount and must not become one.
    cleaned = _CURRENCY.sub("", str(text))
    if not _AMOUNT.fullmatch(cleaned) or not re.search(r"\d", cleaned):
        return float("nan")

    # The separator written last is the decimal one when both appear.
    if "," in cleaned and "." in cleaned:
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        if _GROUPED_THOUSANDS.fullmatch(cleaned):
            cleaned = cleaned.replace(",", "")
        else:
            cleaned = cleaned.replace(",", ".")

    try:
        return float(cleaned)
    except ValueError:
        return float("nan")


@dataclass(frozen=True)
class Distinct:
    """A column split into its distinct values and, per row, which one it holds.

    Export columns repeat a handful of words (owners, stages, sources) over a
    million rows; parsing each distinct value once and spreading the result
    back costs a hash per row instead of a parse per row.
    """

    values: pd.Series
    codes: np.ndarray

    @classmethod
    def of(cls, raw: pd.Series) -> Distinct:
        """Split ``raw``; blanks get code -1."""
        # Factorising the Series itself lets an Arrow-backed string column
        # dictionary-encode without first becoming a million Python objects.
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        return cls(pd.Series(np.asarray(uniques, dtype=object), dtype=object), codes)

    def spread(self, parsed: pd.Series, index: pd.Index, blank: object) -> pd.Series:
        """Give each row the parsed value of its distinct value (``blank`` for -1)."""
        filler = pd.Series([blank], dtype=parsed.dtype)
        extended = pd.concat([parsed.reset_index(drop=True), filler], ignore_index=True)
        positions = np.where(self.codes < 0, len(parsed), self.codes)
        spread = extended.take(positions)
        spread.index = index
        return spread
