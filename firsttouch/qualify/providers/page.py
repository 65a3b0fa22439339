"""Read a company home page: title, description, language, JSON-LD
Organization, and hints of the technology it runs on.

The parser is the standard library's, which never raises on bad markup;
JSON-LD blocks that do not parse are skipped one by one.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

from firsttouch.qualify.providers.countries import country_code

ORGANIZATION_TYPES = frozenset(
    {
        "organization",
        "corporation",
        "localbusiness",
        "ngo",
        "educationalorganization",
        "medicalorganization",
        "onlinebusiness",
        "onlinestore",
        "store",
        "professionalservice",
        "governmentorganization",
        "sportsorganization",
        "newsmediaorganization",
        "airline",
        "organisation",
    }
)

# Marker found in the page source -> the technology it betrays.
TECHNOLOGY_MARKERS = (
    ("wp-content/", "WordPress"),
    ("cdn.shopify.com", "Shopify"),
    ("js.hs-scripts.com", "HubSpot"),
    ("js.hsforms.net", "HubSpot"),
    ("munchkin", "Marketo"),
    ("pardot.com", "Salesforce Pardot"),
    ("force.com", "Salesforce"),
    ("googletagmanager.com", "Google Tag Manager"),
    ("google-analytics.com", "Google Analytics"),
    ("js.stripe.com", "Stripe"),
    ("widget.intercom.io", "Intercom"),
    ("cdn.segment.com", "Segment"),
    ("js.driftt.com", "Drift"),
    ("zdassets.com", "Zendesk"),
    ("static.squarespace.com", "Squarespace"),
    ("wixstatic.com", "Wix"),
    ("webflow.js", "Webflow"),
    ("__next_data__", "Next.js"),
    ("data-reactroot", "React"),
    ("cdn.optimizely.com", "Optimizely"),
    ("static.hotjar.com", "Hotjar"),
    ("netsuite.com", "NetSuite"),
    ("calendly.com", "Calendly"),
)

_SPACE = re.compile(r"\s+")


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.description: str | None = None
        self.language: str | None = None
        self.generator: str | None = None
        self.json_ld: list[str] = []
        self._in_title = False
        self._in_ld = False
        self._ld_buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "html" and values.get("lang"):
            self.language = values["lang"].split("-")[0].lower()
        elif tag == "title":
            self._in_title = True
        elif tag == "meta":
            name = (values.get("name") or values.get("property") or "").lower()
            if name in ("description", "og:description") and not self.description:
                self.description = values.get("content") or None
            elif name == "generator":
                self.generator = values.get("content") or None
        elif (
            tag == "script" and values.get("type", "").lower() == "application/ld+json"
        ):
            self._in_ld = True
            self._ld_buffer = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "script" and self._in_ld:
            self._in_ld = False
            self.json_ld.append("".join(self._ld_buffer))

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._in_ld:
            self._ld_buffer.append(data)


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every JSON object in a JSON-LD document, @graph and lists included."""
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            found.append(item)
            stack.extend(v for v in item.values() if isinstance(v, list | dict))
    return found


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type", [])
    items = raw if isinstance(raw, list) else [raw]
    return {str(t).rsplit("/", 1)[-1].lower() for t in items}


def _employee_count(value: Any) -> int | None:
    """Read numberOfEmployees: a number, a string, or a QuantitativeValue."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        if "value" in value:
            return _employee_count(value["value"])
        low, high = (
            _employee_count(value.get("minValue")),
            _employee_count(value.get("maxValue")),
        )
        if low is not None and high is not None:
            return (low + high) // 2
        return low if low is not None else high
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        digits = re.findall(r"\d[\d,]*", value)
        if digits:
            numbers = [int(d.replace(",", "")) for d in digits]
            return sum(numbers) // len(numbers)
    return None


def _address(value: Any) -> dict[str, Any]:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, str):
        return {"address": value}
    if not isinstance(value, dict):
        return {}
    country = value.get("addressCountry")
    if isinstance(country, dict):
        country = country.get("name") or country.get("identifier")
    found: dict[str, Any] = {}
    code = country_code(str(country)) if country else None
    if code:
        found["country"] = code
    if value.get("addressRegion"):
        found["region"] = str(value["addressRegion"])
    if value.get("addressLocality"):
        found["city"] = str(value["addressLocality"])
    return found


def organization_facts(blocks: list[str]) -> dict[str, Any]:
    """Facts from the first JSON-LD Organization (or subtype) in ``blocks``."""
    for block in blocks:
        try:
            document = json.loads(block)
        except ValueError:
            continue
        for node in _walk(document):
            if not _types(node) & ORGANIZATION_TYPES:
                continue
            facts: dict[str, Any] = {}
            name = node.get("legalName") or node.get("name")
            if isinstance(name, str) and name.strip():
                facts["company"] = name.strip()
            employees = _employee_count(node.get("numberOfEmployees"))
            if employees is not None:
                facts["employees"] = employees
            facts.update(_address(node.get("address")))
            same_as = node.get("sameAs")
            if isinstance(same_as, str):
                same_as = [same_as]
            if isinstance(same_as, list):
                facts["same_as"] = [str(s) for s in same_as if isinstance(s, str)]
            if isinstance(node.get("industry"), str):
                facts["industry"] = node["industry"]
            return facts
    return {}


def technologies(html: str, generator: str | None) -> list[str]:
    """Technologies whose markers appear in the page, in a stable order."""
    lowered = html.lower()
    found: list[str] = []
    for marker, name in TECHNOLOGY_MARKERS:
        if marker in lowered and name not in found:
            found.append(name)
    if generator:
        product = generator.split()[0]
        if product and product not in found:
            found.append(product)
    return found


def page_facts(html: str) -> dict[str, Any]:
    """Everything the home page says about the company."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    facts: dict[str, Any] = {}
    title = _SPACE.sub(" ", parser.title).strip()
    if title:
        facts["site_title"] = title[:300]
    if parser.description:
        facts["site_description"] = _SPACE.sub(" ", parser.description).strip()[:500]
    if parser.language:
        facts["site_language"] = parser.language
    facts.update(organization_facts(parser.json_ld))
    tech = technologies(html, parser.generator)
    if tech:
        facts["technologies"] = tech
    return facts
