"""A company directory (a CRM export or a firmographic file) matched to a lead.

The file is a CSV or Parquet table of accounts. Columns are found by the
names exports use (``domain``/``website``, ``name``/``company``/``account``,
``employees``/``employee_count``, ``industry``/``sector``, ``country``).
A lead matches by domain first; failing that, by company name, fuzzily,
after dropping legal suffixes (Inc, GmbH, Ltd ...).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from firsttouch.errors import EnrichmentError
from firsttouch.qualify.facts import FactSheet, website_domain
from firsttouch.qualify.providers.countries import country_code

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = {
    "domain": ("domain", "website", "web", "url", "company_domain"),
    "name": (
        "name",
        "company",
        "company_name",
        "account",
        "account_name",
        "security",
        "organization",
    ),
    "employees": (
        "employees",
        "employee_count",
        "number_of_employees",
        "size",
        "headcount",
    ),
    "industry": ("industry", "sector", "gics_sector", "vertical"),
    "country": ("country", "hq_country", "headquarters_country", "office_location"),
}

LEGAL_SUFFIXES = re.compile(
    r"\b(incorporated|inc|llc|l\.l\.c|ltd|limited|gmbh|ag|sa|sas|sarl|bv|nv|plc|"
    r"corp|corporation|co|company|pty|srl|spa|oy|ab|as|kk|holdings?|group)\b\.?"
)


def name_key(name: str) -> str:
    """A company name without case, punctuation or legal suffix."""
    text = LEGAL_SUFFIXES.sub(" ", name.lower().replace("&", " and "))
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _find_column(frame: pd.DataFrame, role: str) -> str | None:
    by_lower = {str(c).strip().lower().replace(" ", "_"): c for c in frame.columns}
    for candidate in COLUMNS[role]:
        if candidate in by_lower:
            return str(by_lower[candidate])
    return None


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value


class DirectoryProvider:
    """Match a lead's company to a row of an accounts file."""

    name = "directory"
    cacheable = False

    def __init__(self, path: str | Path, *, fuzzy_threshold: float = 90.0):
        self.path = Path(path)
        self.fuzzy_threshold = fuzzy_threshold
        frame = self._read(self.path)
        self.columns = {role: _find_column(frame, role) for role in COLUMNS}
        if not self.columns["domain"] and not self.columns["name"]:
            raise EnrichmentError(
                f"{self.path}: the directory needs a domain or a name column; "
                f"found {list(frame.columns)}"
            )
        self.rows: list[dict[str, Any]] = frame.to_dict("records")
        self.by_domain: dict[str, int] = {}
        self.names: dict[int, str] = {}
        for index, row in enumerate(self.rows):
            self._index(index, row)

    @staticmethod
    def _read(path: Path) -> pd.DataFrame:
        # Imported here: pandas and its kin are about a hundred megabytes of
        # every serving process, and only a configured directory needs them.
        import pandas as pd

        try:
            if path.suffix.lower() in (".parquet", ".pq"):
                return pd.read_parquet(path)
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError) as exc:
            raise EnrichmentError(
                f"cannot read the company directory {path}: {exc}"
            ) from exc

    def _index(self, index: int, row: dict[str, Any]) -> None:
        domain_col, name_col = self.columns["domain"], self.columns["name"]
        if domain_col:
            domain = website_domain(str(_clean(row.get(domain_col)) or ""))
            if domain:
                self.by_domain.setdefault(domain, index)
        if name_col:
            name = _clean(row.get(name_col))
            if name:
                self.names[index] = name_key(str(name))

    def key(self, facts: FactSheet) -> str | None:
        domain = facts.get("website_domain")
        if not domain and facts.get("email_type") in ("business", "role"):
            domain = facts.get("domain")
        company = facts.get("company")
        if domain or company:
            return f"{domain or ''}|{company or ''}"
        return None

    def match(self, domain: str | None, company: str | None) -> tuple[int, str] | None:
        """Return (row index, how it matched) or None."""
        if domain and domain in self.by_domain:
            return self.by_domain[domain], f"domain {domain}"
        if company and self.names:
            wanted = name_key(company)
            if not wanted:
                return None
            best = process.extractOne(
                wanted,
                self.names,
                scorer=fuzz.token_sort_ratio,
                score_cutoff=self.fuzzy_threshold,
            )
            if best is not None:
                return int(best[2]), f"name {company!r} ~ {best[0]!r} ({best[1]:.0f})"
        return None

    def lookup(self, key: str, facts: FactSheet) -> dict[str, Any]:
        domain, _, company = key.partition("|")
        found = self.match(domain or None, company or None)
        if found is None:
            return {}
        row = self.rows[found[0]]
        facts_out: dict[str, Any] = {"directory_match": found[1]}
        for role in ("name", "employees", "industry", "country", "domain"):
            column = self.columns[role]
            value = _clean(row.get(column)) if column else None
            if value in (None, ""):
                continue
            if role == "name":
                facts_out["company"] = str(value)
            elif role == "employees":
                digits = re.sub(r"[^\d]", "", str(value).split("-")[0])
                if digits:
                    facts_out["employees"] = int(digits)
            elif role == "country":
                code = country_code(str(value))
                if code:
                    facts_out["country"] = code
            elif role == "domain":
                facts_out["website_domain"] = website_domain(str(value))
            else:
                facts_out[role] = str(value)
        return facts_out
