"""The company directory: a CSV or Parquet of accounts matched by domain
first, then by a fuzzy company name; unreadable files say which and why."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from firsttouch.errors import EnrichmentError
from firsttouch.qualify.providers.directory import DirectoryProvider, name_key

from .facts_for import facts_for

ROWS = [
    {
        "Account Name": "Acme Analytics, Inc.",
        "Website": "https://www.acme-analytics.com",
        "Employees": "220",
        "Industry": "Computer Software",
        "Country": "United States",
    },
    {
        "Account Name": "Nordlicht Maschinenbau GmbH",
        "Website": "nordlicht.example",
        "Employees": "1,400",
        "Industry": "Manufacturing",
        "Country": "Germany",
    },
    {
        "Account Name": "Blue Harbor Clinics",
        "Website": "",
        "Employees": "51-200",
        "Industry": "Hospital & Health Care",
        "Country": "CA",
    },
]


@pytest.fixture(params=["csv", "parquet"])
def directory(request: pytest.FixtureRequest, tmp_path: Path) -> DirectoryProvider:
    frame = pd.DataFrame(ROWS)
    path = tmp_path / f"accounts.{request.param}"
    if request.param == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return DirectoryProvider(path, fuzzy_threshold=85)


def _lookup(directory: DirectoryProvider, **facts: str) -> dict[str, object]:
    sheet = facts_for(**facts)
    key = directory.key(sheet)
    assert key is not None
    return directory.lookup(key, sheet)


def test_a_business_email_domain_matches_its_account(
    directory: DirectoryProvider,
) -> None:
    found = _lookup(directory, email="dana@acme-analytics.com")
    assert found["company"] == "Acme Analytics, Inc."
    assert (found["employees"], found["country"]) == (220, "US")
    assert found["industry"] == "Computer Software"
    assert found["directory_match"] == "domain acme-analytics.com"


def test_a_free_mail_lead_matches_by_a_fuzzy_company_name(
    directory: DirectoryProvider,
) -> None:
    found = _lookup(
        directory, email="k.weber@gmail.com", company="Nordlicht Maschinenbau"
    )
    assert found["company"] == "Nordlicht Maschinenbau GmbH"
    assert (found["employees"], found["country"]) == (1400, "DE")
    assert str(found["directory_match"]).startswith("name ")


def test_a_misspelt_name_still_matches_but_a_different_company_does_not(
    directory: DirectoryProvider,
) -> None:
    assert _lookup(directory, company="Blue Harbour Clinics")["employees"] == 51
    assert _lookup(directory, company="Red Harbor Bakery") == {}


def test_legal_suffixes_do_not_count_in_names() -> None:
    assert name_key("Acme Analytics, Inc.") == name_key("ACME analytics LLC")


def test_a_missing_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(EnrichmentError, match="accounts.csv"):
        DirectoryProvider(tmp_path / "accounts.csv")


def test_a_file_without_domain_or_name_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("colour,size\nred,3\n")
    with pytest.raises(EnrichmentError, match="domain or a name column"):
        DirectoryProvider(path)
