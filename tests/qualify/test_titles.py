"""Job titles: a table of real-world forms, abbreviations and other languages
reads into the expected seniority and function."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from firsttouch.qualify.titles import parse_title

TABLE = Path(__file__).with_name("title_table.csv")


def _rows() -> list[tuple[str, str, str | None]]:
    with TABLE.open(encoding="utf-8") as handle:
        return [
            (r["title"], r["seniority"], r["function"] or None)
            for r in csv.DictReader(handle)
        ]


ROWS = _rows()


def test_the_title_table_is_large_and_covers_every_level() -> None:
    assert len(ROWS) >= 250
    assert {s for _, s, _ in ROWS} == {
        "c_level",
        "vp",
        "director",
        "manager",
        "individual",
        "student",
    }


@pytest.mark.parametrize(
    ("title", "seniority", "function"), ROWS, ids=[r[0] for r in ROWS]
)
def test_title_reads_into_seniority_and_function(
    title: str, seniority: str, function: str | None
) -> None:
    parsed = parse_title(title)
    assert (parsed.seniority, parsed.function) == (seniority, function)


def test_an_empty_title_says_nothing() -> None:
    assert parse_title("").seniority is None
    assert parse_title(None).function is None
    assert parse_title("   ").seniority is None


@pytest.mark.parametrize(
    "title",
    [
        "Looking for new opportunities",
        "Job seeker",
        "Open to work",
        "Unemployed",
        "Arbeitssuchend",
        "En recherche d'emploi",
        "Buscando empleo",
    ],
)
def test_job_seekers_are_flagged(title: str) -> None:
    assert parse_title(title).job_seeker


def test_a_buyer_is_not_flagged_as_a_job_seeker() -> None:
    assert not parse_title("VP Sales").job_seeker
