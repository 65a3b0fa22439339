"""Who the sending team is: the name and postal address follow-up mail needs."""

from __future__ import annotations

from firsttouch.workspace.team import Strict


class CompanyProfile(Strict):
    name: str
    website: str | None = None
    postal_address: str
    product: str | None = None
