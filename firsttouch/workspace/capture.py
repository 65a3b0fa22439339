"""The capture section: which kinds of lead the lead-ad sources are polled for.

Which LinkedIn owners to poll (ad accounts, organizations) is deployment
configuration, read from the environment with their token; which of
LinkedIn's lead types the team wants captured is the team's choice, here.
Every key has a default, so a workspace written before it loads unchanged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from firsttouch.workspace.team import Strict

# LinkedIn Lead Sync's lead types: SPONSORED comes from ads and belongs to an
# ad account; the organic ones come from an organization's event, company
# page or product page and belong to the organization
# (https://learn.microsoft.com/linkedin/marketing/lead-sync/leadsync).
SPONSORED = "SPONSORED"
ORGANIC_LEAD_TYPES = ("EVENT", "COMPANY", "ORGANIZATION_PRODUCT")
LinkedInLeadType = Literal["SPONSORED", "EVENT", "COMPANY", "ORGANIZATION_PRODUCT"]
LINKEDIN_LEAD_TYPES: tuple[LinkedInLeadType, ...] = (
    "SPONSORED",
    "EVENT",
    "COMPANY",
    "ORGANIZATION_PRODUCT",
)


class LinkedInLeads(Strict):
    """The LinkedIn lead types to poll; every type unless the team narrows it."""

    lead_types: list[LinkedInLeadType] = Field(
        default_factory=lambda: list(LINKEDIN_LEAD_TYPES), min_length=1
    )

    @field_validator("lead_types")
    @classmethod
    def _once_each(cls, value: list[LinkedInLeadType]) -> list[LinkedInLeadType]:
        return list(dict.fromkeys(value))


class Capture(Strict):
    linkedin: LinkedInLeads = Field(default_factory=LinkedInLeads)
