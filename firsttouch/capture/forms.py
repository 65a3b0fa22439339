"""Web form submissions to ``InboundEvent``: field mapping, UTM, honeypot, HMAC.

Each workspace form maps the names a site uses (``fname``, ``First Name``,
``your-name``) to the person's facts; names already canonical (``email``,
``first_name``) and a few universal spellings map without configuration.
Unmapped fields are kept as they came, under ``fields``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.identity import normalise_email, normalise_phone
from firsttouch.errors import InputError, SignatureError
from firsttouch.workspace.routing import Form

# Canonical targets a field may map to: the person's facts plus the message.
PERSON_FIELDS = frozenset(PersonFacts.model_fields)
TARGETS = PERSON_FIELDS | {"message", "subject"}
# Facts a person writes in words: a number or true/false sent for one is a
# wiring mistake on the form ("Hi 123,"), kept in the fields as sent.
WORDED = frozenset({"first_name", "last_name", "full_name", "company", "title"})

# Spellings every site uses, so a form works before anyone maps it.
BUILT_IN = {
    "name": "full_name",
    "fullname": "full_name",
    "your_name": "full_name",
    "firstname": "first_name",
    "fname": "first_name",
    "given_name": "first_name",
    "lastname": "last_name",
    "lname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "e_mail": "email",
    "email_address": "email",
    "e_mail_address": "email",
    "mail": "email",
    "your_email": "email",
    "work_email": "email",
    "tel": "phone",
    "telephone": "phone",
    "mobile": "phone",
    "phone_number": "phone",
    "organisation": "company",
    "organization": "company",
    "company_name": "company",
    "job_title": "title",
    "role": "title",
    "comments": "message",
    "comment": "message",
    "your_message": "message",
    "enquiry": "message",
    "inquiry": "message",
    "employee_count": "employees",
    "company_size": "employees",
    "state": "region",
    "province": "region",
    "url": "website",
}
UTM_FIELDS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "gclid",
    "fbclid",
    "msclkid",
)
REFERRER_FIELDS = ("referrer", "referer", "page_url", "landing_page")
# Double clicks and browser resubmits arrive within seconds of each other.
DOUBLE_SUBMIT_WINDOW = timedelta(seconds=30)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def map_fields(
    form: Form, data: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a submission into (canonical facts, everything else)."""
    configured = {_slug(k): v for k, v in form.field_map.items()}
    mapped: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for name, value in data.items():
        if name in form.field_map:
            target: str | None = form.field_map[name]
        else:
            slug = _slug(name)
            target = configured.get(slug) or (slug if slug in TARGETS else None)
            target = target or BUILT_IN.get(slug)
        text = _text(value)
        if target in WORDED and isinstance(value, (bool, int, float)):
            text = None
        if target in TARGETS and text:
            if target not in mapped:
                mapped[target] = text
        else:
            rest[name] = value
    return mapped, rest


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if v not in (None, "")), None)
    # An object is no name or company: it stays in the fields as sent.
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def honeypot_tripped(form: Form, data: dict[str, Any]) -> bool:
    """True when the hidden field humans never see was filled in."""
    return bool(form.honeypot and _text(data.get(form.honeypot)))


def verify_signature(secret: str, body: bytes, header: str | None) -> None:
    """Check ``X-Firsttouch-Signature: sha256=<hex HMAC-SHA256(secret, body)>``."""
    if not header:
        raise SignatureError("this form requires an X-Firsttouch-Signature header")
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        raise SignatureError("X-Firsttouch-Signature must read 'sha256=<hex>'")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given.strip().lower()):
        raise SignatureError("X-Firsttouch-Signature does not match the body")


def tracking(
    data: dict[str, Any], referrer_header: str | None
) -> tuple[dict[str, str], str | None]:
    """UTM and click ids from the fields, else from the referring page's URL."""
    utm = {k: t for k in UTM_FIELDS if (t := _text(data.get(k)))}
    referrer = next((t for k in REFERRER_FIELDS if (t := _text(data.get(k)))), None)
    referrer = referrer or referrer_header
    if referrer:
        try:
            query = dict(parse_qsl(urlsplit(referrer).query))
        except ValueError:
            query = {}
        for key in UTM_FIELDS:
            if key in query and key not in utm:
                utm[key] = query[key]
        utm["referrer"] = referrer[:2000]
    return utm, referrer


def form_to_event(
    form_key: str,
    form: Form,
    data: dict[str, Any],
    *,
    default_region: str,
    referrer: str | None = None,
    files: list[dict[str, Any]] | None = None,
    raw: str | None = None,
    dedupe_key: str,
) -> InboundEvent:
    """Build the event for one submission; 400 when no one can be contacted."""
    mapped, rest = map_fields(form, data)
    for name in (form.honeypot, *UTM_FIELDS, *REFERRER_FIELDS):
        if name:
            rest.pop(name, None)
    email = mapped.get("email")
    if email and normalise_email(email) is None:
        if not mapped.get("phone"):
            raise InputError(f"{email!r} is not an email address", field="email")
        mapped.pop("email")
    phone = mapped.get("phone")
    region = form.default_region or default_region
    if phone and normalise_phone(str(phone), mapped.get("country") or region) is None:
        if not mapped.get("email"):
            raise InputError(f"{phone!r} is not a phone number", field="phone")
        # The email reaches the buyer; keep what they typed for a person to read.
        rest["phone_as_typed"] = mapped.pop("phone")
    if not mapped.get("email") and not mapped.get("phone"):
        names = sorted(k for k, v in form.field_map.items() if v in ("email", "phone"))
        raise InputError(
            "the submission has no email or phone; send one as 'email' or 'phone'"
            + (f" (or {', '.join(names)})" if names else ""),
            field="email",
        )

    utm, ref = tracking(data, referrer)
    person = _person(mapped)
    fields: dict[str, Any] = {"form": form_key, "form_name": form.name, **rest}
    if files:
        fields["files"] = files
    return InboundEvent(
        dedupe_key=dedupe_key,
        channel="web_form",
        kind="form",
        source=form.source,
        provider="form",
        person=person,
        # Only what the buyer typed: the form's own name ("Book a demo") is
        # the team's words, kept in fields["form_name"].
        subject=mapped.get("subject"),
        body_text=mapped.get("message"),
        fields=fields,
        campaign=form.campaign or utm.get("utm_campaign"),
        utm=utm,
        raw=raw,
        default_region=form.default_region or default_region,
    )


def _person(mapped: dict[str, Any]) -> PersonFacts:
    values: dict[str, Any] = {k: v for k, v in mapped.items() if k in PERSON_FIELDS}
    if "employees" in values:
        digits = re.findall(r"\d[\d,]*", str(values["employees"]))
        values["employees"] = int(digits[-1].replace(",", "")) if digits else None
    return PersonFacts(**values)


def submission_digest(form_key: str, data: dict[str, Any], client: str) -> str:
    """A fingerprint of what was typed, to spot the same form sent twice."""
    canonical = json.dumps(
        {
            "form": form_key,
            "client": client,
            "data": {k: data[k] for k in sorted(data)},
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


def submission_keys(digest: str, now: datetime) -> tuple[str, str, datetime]:
    """The dedupe key of a submission, and the resubmit it may be.

    The key names a 30-second bucket. A resubmit just across a bucket edge
    carries the previous bucket's key too, which counts if an inbound was
    stored under it within the window; the unique constraint then answers
    "duplicate". Returns (key, previous key, stored since).
    """
    bucket = int(now.timestamp() // DOUBLE_SUBMIT_WINDOW.total_seconds())
    return (
        f"form:{digest}:{bucket}",
        f"form:{digest}:{bucket - 1}",
        now - DOUBLE_SUBMIT_WINDOW,
    )
