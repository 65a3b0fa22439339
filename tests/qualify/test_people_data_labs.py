"""People Data Labs company enrichment against a loopback server speaking its
documented shape: a match, no match (404), and each refusal."""

from __future__ import annotations

import pytest

from firsttouch.config import Secret
from firsttouch.errors import EnrichmentError
from firsttouch.qualify.providers.people_data_labs import PeopleDataLabsProvider

from .facts_for import facts_for
from .loopback import Reply, Request, serve

RECORD = {
    "status": 200,
    "name": "acme analytics",
    "display_name": "Acme Analytics",
    "size": "201-500",
    "employee_count": 233,
    "industry": "computer software",
    "location": {
        "name": "austin, texas, united states",
        "country": "united states",
        "region": "texas",
        "locality": "austin",
    },
    "linkedin_url": "linkedin.com/company/acme-analytics-example",
    "website": "acme-analytics.com",
    "tags": ["saas", "finance"],
    "likelihood": 8,
}


def _provider(url: str) -> PeopleDataLabsProvider:
    return PeopleDataLabsProvider(
        base_url=url, api_key=Secret("pdl-test-key"), timeout=2
    )


def test_a_match_gives_company_facts_and_sends_the_key_in_its_header() -> None:
    def enrich(request: Request) -> Reply:
        if request.headers.get("X-Api-Key") != "pdl-test-key":
            return Reply(401, {"status": 401, "error": {"type": "invalid_auth"}})
        assert "website=acme-analytics.com" in request.path
        return Reply(200, RECORD)

    with serve({"/v5/company/enrich": enrich}) as server:
        provider = _provider(server.url)
        facts = facts_for(email="dana@acme-analytics.com")
        found = provider.lookup(provider.key(facts) or "", facts)
    assert found["company"] == "Acme Analytics"
    assert (found["employees"], found["country"], found["region"]) == (
        233,
        "US",
        "texas",
    )
    assert found["industry"] == "computer software"


def test_no_match_is_an_empty_answer_not_an_error() -> None:
    body = {"status": 404, "error": {"type": "not_found", "message": "No records"}}
    with serve({"/v5/company/enrich": Reply(404, body)}) as server:
        assert _provider(server.url).lookup("unknown.example", None) == {}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (401, "refused"),
        (402, "credits"),
        (403, "may not"),
        (429, "rate limit"),
        (500, "unexpected"),
    ],
)
def test_refusals_are_enrichment_errors_that_say_why(status: int, why: str) -> None:
    reply = Reply(status, {"status": status})
    with (
        serve({"/v5/company/enrich": reply}) as server,
        pytest.raises(EnrichmentError, match=why),
    ):
        _provider(server.url).lookup("acme-analytics.com", None)  # type: ignore[arg-type]


def test_a_slow_api_times_out() -> None:
    with serve({"/v5/company/enrich": Reply(200, RECORD, delay=1.0)}) as server:
        provider = PeopleDataLabsProvider(
            base_url=server.url, api_key=Secret("k"), timeout=0.2
        )
        with pytest.raises(EnrichmentError, match="Timeout"):
            provider.lookup("acme-analytics.com", None)  # type: ignore[arg-type]


def test_a_free_mail_lead_gives_no_domain_to_look_up() -> None:
    provider = _provider("http://127.0.0.1:9")
    assert provider.key(facts_for(email="someone@gmail.com")) is None


def test_the_key_never_shows_in_a_repr() -> None:
    assert "pdl-test-key" not in repr(_provider("http://127.0.0.1:9").__dict__)
