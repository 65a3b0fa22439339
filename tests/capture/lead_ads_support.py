"""Shared pieces of the lead-ad polling and reconcile tests: records in each
provider's documented shape, and the settings that point at the fakes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from firsttouch.config import Settings
from tests.capture.graph_server import GraphFake
from tests.capture.linkedin_server import TOKEN as LINKEDIN_TOKEN
from tests.capture.linkedin_server import LinkedInFake
from tests.capture.provider_support import SECRETS, with_provider_secrets

PAGE = "444000111222"
FORM = "700700700700"
ACCOUNT = "urn:li:sponsoredAccount:808"
ORGANIZATION = "urn:li:organization:2414183"
LINKEDIN_FORM_ID = "5150"
PAGE_TOKEN = SECRETS["META_PAGE_ACCESS_TOKEN"]


def meta_lead(number: int, created: datetime, form: str = FORM) -> dict[str, Any]:
    """A Graph lead record as ``/{form_id}/leads`` lists it."""
    return {
        "id": f"9101000{number:05d}",
        "created_time": created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "form_id": form,
        "ad_id": "610610610611",
        "campaign_name": "AP automation - autumn",
        "field_data": [
            {"name": "full_name", "values": [f"Buyer Number{number}"]},
            {"name": "work_email", "values": [f"buyer{number}@firm{number}.example"]},
            {"name": "company_name", "values": [f"Firm {number} Ltd"]},
        ],
    }


def linkedin_response(number: int, submitted: datetime) -> dict[str, Any]:
    """A Lead Sync form response as the owner finder lists it."""
    return {
        "id": f"resp-{number:04d}",
        "owner": {"sponsoredAccount": ACCOUNT},
        "leadType": "SPONSORED",
        "versionedLeadGenFormUrn": (
            f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{LINKEDIN_FORM_ID},2)"
        ),
        "submittedAt": int(submitted.timestamp() * 1000),
        "testLead": False,
        "leadMetadata": {
            "sponsoredLeadMetadata": {"campaign": "urn:li:sponsoredCampaign:4242"}
        },
        "formResponse": {
            "answers": [
                _text(1, f"Member{number}"),
                _text(2, "Okafor"),
                _text(3, f"member{number}@works{number}.example"),
                _text(4, f"Works {number}"),
            ]
        },
    }


def organic_response(
    number: int, submitted: datetime, lead_type: str
) -> dict[str, Any]:
    """A response collected on the organization's event, company or product page.

    Organic leads belong to the organization and carry no ad campaign; an
    event lead names its event as the associated entity.
    """
    response = linkedin_response(number, submitted)
    response["id"] = f"org-{lead_type.lower()}-{number:04d}"
    response["owner"] = {"organization": ORGANIZATION}
    response["leadType"] = lead_type
    response.pop("leadMetadata")
    if lead_type == "EVENT":
        response["associatedEntity"] = {"event": "urn:li:event:7123456789"}
    return response


def _text(question: int, answer: str) -> dict[str, Any]:
    return {
        "questionId": question,
        "answerDetails": {"textQuestionAnswer": {"answer": answer}},
    }


def lead_ads_env(
    settings: Settings, graph: GraphFake, linkedin: LinkedInFake, **extra: str
) -> Settings:
    """Settings with every provider secret, both sources configured for polling.

    ``extra`` adds variables or overrides these (an empty value unsets one).
    """
    env = {
        "META_GRAPH_URL": graph.base_url,
        "META_LEAD_FORMS": f"{PAGE}/{FORM}",
        "LINKEDIN_API_URL": linkedin.base_url,
        "LINKEDIN_ACCESS_TOKEN": LINKEDIN_TOKEN,
        "LINKEDIN_AD_ACCOUNTS": "808",
    }
    return with_provider_secrets(settings, **{**env, **extra})
