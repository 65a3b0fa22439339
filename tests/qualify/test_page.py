"""Home pages: title, description, language, JSON-LD Organization in its
many shapes, and technology hints; bad markup and bad JSON never raise."""

from __future__ import annotations

import json

from firsttouch.qualify.providers.page import organization_facts, page_facts


def _ld(document: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(document)}</script>'


def test_an_organization_gives_name_size_address_and_profiles() -> None:
    html = (
        "<html><head>"
        + _ld(
            {
                "@context": "https://schema.org",
                "@type": "Organization",
                "name": "Acme Analytics",
                "legalName": "Acme Analytics, Inc.",
                "numberOfEmployees": {"@type": "QuantitativeValue", "value": 220},
                "address": {
                    "@type": "PostalAddress",
                    "addressLocality": "Austin",
                    "addressRegion": "TX",
                    "addressCountry": "US",
                },
                "sameAs": [
                    "https://www.linkedin.com/company/acme-analytics-example",
                    "https://x.com/acme_example",
                ],
            }
        )
        + "</head></html>"
    )
    facts = page_facts(html)
    assert facts["company"] == "Acme Analytics, Inc."
    assert facts["employees"] == 220
    assert (facts["country"], facts["region"], facts["city"]) == ("US", "TX", "Austin")
    assert len(facts["same_as"]) == 2


def test_an_organization_inside_a_graph_with_a_ranged_head_count() -> None:
    block = _ld(
        {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "WebSite", "name": "Site"},
                {
                    "@type": ["Corporation", "Thing"],
                    "name": "Nordlicht GmbH",
                    "numberOfEmployees": {"minValue": 100, "maxValue": 300},
                    "address": {
                        "addressCountry": {"@type": "Country", "name": "Germany"}
                    },
                    "sameAs": "https://www.linkedin.com/company/nordlicht-example",
                },
            ],
        }
    )
    facts = organization_facts([block.split(">", 1)[1].rsplit("<", 1)[0]])
    assert facts == {
        "company": "Nordlicht GmbH",
        "employees": 200,
        "country": "DE",
        "same_as": ["https://www.linkedin.com/company/nordlicht-example"],
    }


def test_a_head_count_written_as_text_is_read() -> None:
    facts = organization_facts(
        [
            json.dumps(
                {
                    "@type": "LocalBusiness",
                    "name": "Bistro",
                    "numberOfEmployees": "11-50",
                }
            )
        ]
    )
    assert facts["employees"] == 30


def test_broken_json_ld_is_skipped_for_the_next_block() -> None:
    html = '<script type="application/ld+json">{not json</script>' + _ld(
        {"@type": "Organization", "name": "Second Block Ltd"}
    )
    assert page_facts(html)["company"] == "Second Block Ltd"


def test_a_page_without_an_organization_still_gives_its_title() -> None:
    html = (
        '<html lang="fr"><title> Bienvenue  chez\nNous </title>'
        '<meta property="og:description" content="Le site">'
        + _ld({"@type": "Product", "name": "A widget"})
    )
    assert page_facts(html) == {
        "site_title": "Bienvenue chez Nous",
        "site_description": "Le site",
        "site_language": "fr",
    }


def test_technology_hints_come_from_the_page_source() -> None:
    html = (
        '<meta name="generator" content="WordPress 6.5">'
        '<link href="/wp-content/themes/x.css">'
        '<script src="https://js.stripe.com/v3"></script>'
        '<script src="https://www.googletagmanager.com/gtm.js"></script>'
    )
    assert page_facts(html)["technologies"] == [
        "WordPress",
        "Google Tag Manager",
        "Stripe",
    ]


def test_garbage_markup_never_raises() -> None:
    assert page_facts("<html><<<>>><title>x</tit") is not None
    assert page_facts("") == {}
