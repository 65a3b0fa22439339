"""Who the demo's leads are: rows of a real lead data set, or seeded stand-ins.

The shared corpus carries a public lead data set (an online-education
company's 9,240 leads with the source each came from, the buyer's
occupation, how engaged they were on the website, and whether they
converted). The demo samples its week from those rows so that the leads'
mix and outcomes are someone else's reality, not ours. Without the corpus
it draws stand-in rows from the same columns with a seeded generator.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

LEADS_CSV = Path("datasets/leads/x_education/Leads.csv")

# The data set writes "Select" where a buyer left a drop-down unanswered.
_UNANSWERED = {"", "select", "nan"}


@dataclass(frozen=True)
class LeadProfile:
    """The facts about one lead that the demo takes from the data set."""

    row_id: str
    origin: str
    source: str
    occupation: str
    engagement_seconds: int
    visits: int
    last_activity: str
    tags: str
    converted: bool
    dataset_country: str
    quality: str = ""


def _clean(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value.lower() in _UNANSWERED else value


def _as_int(value: str | None) -> int:
    try:
        return int(float(value or 0))
    except ValueError:
        return 0


def _from_row(row: dict[str, str]) -> LeadProfile:
    return LeadProfile(
        row_id=_clean(row.get("Prospect ID")) or _clean(row.get("Lead Number")),
        origin=_clean(row.get("Lead Origin")),
        source=_clean(row.get("Lead Source")),
        occupation=_clean(row.get("What is your current occupation")),
        engagement_seconds=_as_int(row.get("Total Time Spent on Website")),
        visits=_as_int(row.get("TotalVisits")),
        last_activity=_clean(row.get("Last Activity")),
        tags=_clean(row.get("Tags")),
        converted=_clean(row.get("Converted")) == "1",
        dataset_country=_clean(row.get("Country")),
        quality=_clean(row.get("Lead Quality")),
    )


def load_corpus_profiles(corpus: Path) -> list[LeadProfile]:
    """Read every row of the corpus lead set; raise if it is not there."""
    path = corpus / LEADS_CSV
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [_from_row(row) for row in csv.DictReader(handle)]


# Stand-in distributions, rounded from the public data set's own mix so that
# a clone without the corpus still sees a believable week.
_SOURCES = [
    ("Google", 31),
    ("Direct Traffic", 27),
    ("Olark Chat", 19),
    ("Organic Search", 12),
    ("Reference", 6),
    ("Facebook", 3),
    ("Referral Sites", 2),
]
_OCCUPATIONS = [
    ("Unemployed", 60),
    ("", 29),
    ("Working Professional", 8),
    ("Student", 2),
    ("Businessman", 1),
]


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    values, weights = zip(*pairs, strict=True)
    return str(rng.choices(values, weights=weights)[0])


def generate_profiles(count: int, seed: int) -> list[LeadProfile]:
    """Draw ``count`` stand-in leads; conversion follows engagement and role."""
    rng = random.Random(seed)
    profiles = []
    for index in range(count):
        source = _weighted(rng, _SOURCES)
        occupation = _weighted(rng, _OCCUPATIONS)
        engagement = int(rng.expovariate(1 / 480))
        chance = 0.15 + min(engagement, 2000) / 4000
        if occupation == "Working Professional" or source == "Reference":
            chance = 0.9
        profiles.append(
            LeadProfile(
                row_id=f"standin-{index:05d}",
                origin="Lead Add Form"
                if source == "Reference"
                else "Landing Page Submission",
                source=source,
                occupation=occupation,
                engagement_seconds=engagement,
                visits=rng.randint(0, 9),
                last_activity=rng.choice(
                    ["Email Opened", "SMS Sent", "Page Visited on Website"]
                ),
                tags="",
                converted=rng.random() < chance,
                dataset_country="",
            )
        )
    return profiles


def sample_profiles(
    corpus: Path | None, count: int, seed: int
) -> tuple[list[LeadProfile], str]:
    """Return ``count`` leads and a note saying where they came from."""
    if corpus is not None and (corpus / LEADS_CSV).is_file():
        rows = load_corpus_profiles(corpus)
        rng = random.Random(seed)
        picked = rng.sample(rows, min(count, len(rows)))
        return (
            picked,
            f"{len(picked)} leads sampled from {corpus / LEADS_CSV} ({len(rows)} rows)",
        )
    return generate_profiles(
        count, seed
    ), f"{count} seeded stand-in leads (no corpus found)"
