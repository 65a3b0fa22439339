"""Read a LinkedIn lead's answers: the form response, then its form's questions.

A Lead Sync notification names only the response URN. The answers come
from ``GET /rest/leadFormResponses/{id}`` (keyed by ``questionId``) and
their meaning from ``GET /rest/leadForms/{id}``, whose questions carry a
``predefinedField`` such as ``EMAIL`` or ``FIRST_NAME``
(https://learn.microsoft.com/linkedin/marketing/lead-sync/leadsync).
The same API's ``q=owner`` finder lists an owner's responses of one
``leadType`` inside a ``submittedAtTimeRange``, paged with ``start`` and
``count``: an ad account (``sponsoredAccount``) owns SPONSORED leads, an
organization (``organization``) the organic EVENT, COMPANY and
ORGANIZATION_PRODUCT ones, and LinkedIn refuses any other pairing. Requests
carry the versioned-API headers LinkedIn requires. Every failure becomes
a ``LinkedInApiError`` whose ``retryable`` says if later may work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from firsttouch.capture.events import PersonFacts
from firsttouch.config import Secret
from firsttouch.errors import FirsttouchError

API_VERSION = "202509"
# LinkedIn's predefined question fields, and the person fact each fills.
PREDEFINED = {
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "EMAIL": "email",
    "WORK_EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE_NUMBER": "phone",
    "COMPANY_NAME": "company",
    "JOB_TITLE": "title",
    "COUNTRY": "country",
    "STATE": "region",
    "COMPANY_WEBSITE": "website",
    "INDUSTRY": "industry",
}
_FORM_ID = re.compile(r"urn:li:leadGenForm:(\d+)")
# The finder's owner key for each kind of owner URN.
OWNER_KEYS = {
    "urn:li:sponsoredAccount:": "sponsoredAccount",
    "urn:li:organization:": "organization",
}
# Responses asked for per page of the owner finder.
PAGE_SIZE = 100


@dataclass(frozen=True)
class ResponsePage:
    """One page of the owner finder, and where the next page starts, if any."""

    responses: list[dict[str, Any]]
    next_start: int | None


class LinkedInApiError(FirsttouchError):
    """LinkedIn did not give the lead; ``retryable`` says if later may work."""

    code = "linkedin_api_failed"
    status = 503

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        token_refused: bool = False,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.token_refused = token_refused


class LinkedInLeadClient:
    """A small synchronous client for the two Lead Sync reads."""

    def __init__(self, base_url: str, access_token: Secret, *, timeout: float = 10.0):
        self._base = base_url.rstrip("/")
        self._http = httpx.Client(
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {access_token.reveal()}",
                "LinkedIn-Version": API_VERSION,
                "X-Restli-Protocol-Version": "2.0.0",
            },
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LinkedInLeadClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch_response(self, response_urn: str) -> dict[str, Any]:
        """The form response a notification names (answers by question id)."""
        response_id = response_urn.rsplit(":", 1)[-1]
        return self._get(f"/leadFormResponses/{quote(response_id, safe='')}")

    def fetch_form(self, form_urn: str) -> dict[str, Any]:
        """The lead form, whose questions say what each answer means."""
        match = _FORM_ID.search(form_urn)
        if not match:
            raise LinkedInApiError(f"no lead form id in {form_urn!r}", retryable=False)
        return self._get(f"/leadForms/{match.group(1)}")

    def find_responses(
        self,
        owner_urn: str,
        *,
        submitted_from: datetime,
        submitted_to: datetime,
        lead_type: str = "SPONSORED",
        start: int = 0,
        page_size: int = PAGE_SIZE,
    ) -> ResponsePage:
        """One page of the ``lead_type`` responses an owner received in the window."""
        owner_key = owner_key_of(owner_urn)
        # Rest.li 2.0: the tuple's parentheses, colons and commas stay as
        # they are; the URN inside it is percent-encoded.
        query = "&".join(
            (
                "q=owner",
                f"owner=({owner_key}:{quote(owner_urn, safe='')})",
                f"leadType=(leadType:{lead_type})",
                "submittedAtTimeRange=(start:"
                f"{_millis(submitted_from)},end:{_millis(submitted_to)})",
                f"start={start}",
                f"count={page_size}",
            )
        )
        body = self._get(f"/leadFormResponses?{query}")
        responses = [e for e in body.get("elements") or [] if isinstance(e, dict)]
        return ResponsePage(responses, _next_start(body, start, len(responses)))

    def _get(self, path: str) -> dict[str, Any]:
        try:
            response = self._http.get(self._base + path)
        except httpx.HTTPError as exc:
            raise LinkedInApiError(
                f"LinkedIn API unreachable at {self._base}: {type(exc).__name__}",
                retryable=True,
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and isinstance(body, dict):
            return body
        message = body.get("message") if isinstance(body, dict) else None
        status = response.status_code
        raise LinkedInApiError(
            f"LinkedIn API answered {status} for {path.split('?')[0]}: "
            f"{message or 'no message'}",
            retryable=status == 429 or status >= 500,
            retry_after=_retry_after(response),
            token_refused=status in (401, 403),
        )


def owner_key_of(owner_urn: str) -> str:
    """The finder's owner key for an ad account or organization URN."""
    for prefix, key in OWNER_KEYS.items():
        if owner_urn.startswith(prefix):
            return key
    raise LinkedInApiError(
        f"{owner_urn!r} is neither an ad account nor an organization URN",
        retryable=False,
    )


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _next_start(body: dict[str, Any], start: int, got: int) -> int | None:
    """Where the next page starts, or None after the last one.

    LinkedIn may send fewer than ``count`` per page, so a short page is not
    the end: ``paging.total`` is, when given, and otherwise an empty page.
    """
    paging = body.get("paging")
    paging = paging if isinstance(paging, dict) else {}
    total = paging.get("total")
    following = start + got
    if got == 0 or (isinstance(total, int) and following >= total):
        return None
    return following


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after") or "")
    except ValueError:
        return None


def _answer_text(answer: dict[str, Any], question: dict[str, Any]) -> str | None:
    details = answer.get("answerDetails") or {}
    text = (details.get("textQuestionAnswer") or {}).get("answer")
    if text is not None:
        return str(text)
    chosen = (details.get("multipleChoiceAnswer") or {}).get("options") or []
    options = (
        (question.get("questionDetails") or {}).get("multipleChoiceQuestionDetails")
        or {}
    ).get("options") or []
    labels = {o.get("id"): _localized(o.get("text")) for o in options}
    picked = [labels.get(c) or str(c) for c in chosen]
    return ", ".join(picked) or None


def _localized(value: Any) -> str:
    """LinkedIn's MultiLocaleString: the first localized value."""
    if isinstance(value, dict):
        localized = value.get("localized") or {}
        if localized:
            return str(next(iter(localized.values())))
    return str(value or "")


def read_answers(
    response: dict[str, Any], form: dict[str, Any]
) -> tuple[PersonFacts, dict[str, str]]:
    """The person facts and every answer (by question name) of one response."""
    questions = {
        q.get("questionId"): q
        for q in ((form.get("content") or {}).get("questions") or [])
    }
    facts: dict[str, str] = {}
    answers: dict[str, str] = {}
    for answer in (response.get("formResponse") or {}).get("answers") or []:
        question = questions.get(answer.get("questionId")) or {}
        text = _answer_text(answer, question)
        if text is None:
            continue
        name = question.get("name") or f"question_{answer.get('questionId')}"
        answers[str(name)] = text
        target = PREDEFINED.get(str(question.get("predefinedField") or ""))
        if target and text.strip() and target not in facts:
            facts[target] = text.strip()
    return PersonFacts.model_validate(facts), answers
