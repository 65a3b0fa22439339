"""Country names and codes as sources write them, read into ISO 3166-1 alpha-2."""

from __future__ import annotations

from functools import lru_cache

import pycountry

# Names sources use that ISO does not (or that pycountry's lookup misreads).
_COMMON = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "britain": "GB",
    "russia": "RU",
    "south korea": "KR",
    "north korea": "KP",
    "iran": "IR",
    "syria": "SY",
    "vietnam": "VN",
    "czech republic": "CZ",
    "uae": "AE",
    "holland": "NL",
}


@lru_cache(maxsize=1024)
def country_code(value: str | None) -> str | None:
    """Return the alpha-2 code for a country name or code, or None if unknown."""
    if not value or not str(value).strip():
        return None
    text = str(value).strip()
    common = _COMMON.get(text.lower())
    if common:
        return common
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None
