"""An optional OpenAI-compatible endpoint that rewrites the default brief.

Any server speaking ``POST /chat/completions`` works (OpenAI, Ollama, vLLM,
llama.cpp's server). The model sees only the known facts and the default
brief, must answer within the timeout, and its paragraph is kept only if it
invents no number: every figure in it must already be in the facts or the
default brief. Otherwise, or on any failure, the default brief stands.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from firsttouch.config import Secret
from firsttouch.qualify.facts import FactSheet

log = structlog.get_logger(__name__)

MAX_CHARS = 1200
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")

SYSTEM_PROMPT = (
    "You rewrite a sales lead brief for a rep. Use only the facts given. "
    "Write one paragraph of at most 120 words: who the lead is, what they "
    "likely need, and why the score is what it is. Keep each fact's source "
    "in parentheses. Add no fact, number or claim that is not given."
)


@dataclass(frozen=True)
class BriefResult:
    text: str
    source: str  # "template" or "llm"
    note: str | None = None


class LlmBriefWriter:
    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: Secret | None = None,
        timeout: float = 8.0,
        client: httpx.Client | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.client = client

    def rewrite(self, default: str, facts: FactSheet) -> BriefResult:
        """Return the model's paragraph, or the default with the reason why not."""
        try:
            text = self._ask(default, facts)
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            note = f"llm brief failed: {type(exc).__name__}"
            log.warning("brief.llm_failed", error=note)
            return BriefResult(default, "template", note)

        problem = _check(text, default, facts)
        if problem:
            log.warning("brief.llm_rejected", reason=problem)
            return BriefResult(default, "template", f"llm brief rejected: {problem}")
        return BriefResult(text, "llm")

    def _ask(self, default: str, facts: FactSheet) -> str:
        payload = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {
                    "role": "user",
                    "content": json.dumps(
                        {"facts": facts.as_json(), "default_brief": default},
                        default=str,
                    ),
                },
            ],
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key.reveal()}"
        url = f"{self.base_url}/chat/completions"
        if self.client is not None:
            response = self.client.post(
                url, json=payload, headers=headers, timeout=self.timeout
            )
        else:
            with httpx.Client(trust_env=False) as client:
                response = client.post(
                    url, json=payload, headers=headers, timeout=self.timeout
                )
        response.raise_for_status()
        body: Any = response.json()
        return str(body["choices"][0]["message"]["content"]).strip()


def _check(text: str, default: str, facts: FactSheet) -> str | None:
    """Why the rewrite cannot be used, or None when it can."""
    if not text:
        return "empty answer"
    if len(text) > MAX_CHARS:
        return f"longer than {MAX_CHARS} characters"
    if "\n\n" in text:
        return "more than one paragraph"
    known = set(_NUMBER.findall(default))
    known |= set(_NUMBER.findall(json.dumps(facts.as_json(), default=str)))
    invented = [n for n in _NUMBER.findall(text) if n not in known]
    if invented:
        return f"numbers not in the facts: {invented[:3]}"
    return None
