"""Run every corpus webhook payload through its provider's capture parser.

Usage: ``python acceptance/capture_webhooks.py [CORPUS]`` (default
``../shared/corpus``). Every file must either parse into events with its
provider's channel, or be refused with a stated reason (an empty Meta
export, say). A provider folder firsttouch has no adapter for goes through
the generic lead webhook, as an operator would point that sender at it, and
is named in the output. It also checks the Twilio signature
known-answer vectors with the same validator the webhooks use.

Prints ``acceptance: capture_webhooks files=N parsed=N providers=N ...`` and
``acceptance: twilio_signatures vectors=N pass=N``; exits 1 on any failure.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _app_webhooks import APP_CHANNELS, APP_PARSERS
from _inbound_mail import MAIL_CHANNELS, MAIL_PARSERS

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers import (
    calcom,
    calendly,
    intercom,
    linkedin,
    mailgun,
    meta_leads,
    postmark,
    sendgrid,
    twilio_sms,
    twilio_voice,
)
from firsttouch.capture.providers.payloads import FormFields, read_form
from firsttouch.capture.providers.twilio_signature import verify_twilio_signature
from firsttouch.config import Secret
from firsttouch.errors import InputError, SignatureError

Parser = Callable[[Path], list[InboundEvent]]

# The channel every event of a provider must land in.
CHANNELS = {
    "twilio": {"sms", "call"},
    "meta_lead_ads": {"lead_ad"},
    "linkedin": {"lead_ad"},
    "calendly": {"meeting"},
    "calcom": {"meeting"},
    "intercom": {"chat"},
    "mailgun": {"email"},
    "sendgrid": {"email"},
    "postmark": {"email"},
}


def _twilio(path: Path) -> list[InboundEvent]:
    if path.name == "signature_test_vectors.json":
        return []  # checked by twilio_signatures below
    if path.suffix == ".json":
        return _twilio_field_list(path)
    body = path.read_bytes().strip()
    form = read_form(body, "Twilio")
    if "CallSid" in form:
        return [twilio_voice.parse_twilio_voice(body, form)]
    return [twilio_sms.parse_twilio_sms(body, form)]


def _twilio_field_list(path: Path) -> list[InboundEvent]:
    """Build recording and transcription callbacks from the documented names."""
    spec = json.loads(path.read_text())
    events = []
    for key, callback in (
        ("recording_status_callback_fields", "recording"),
        ("transcription_callback_fields", "transcription"),
    ):
        names = [n.split(" ")[0] for n in spec.get(key, [])]
        values = {n: f"{n}-value" for n in names}
        values.update(
            CallSid="CA00000000000000000000000000000001",
            RecordingStatus="completed",
            TranscriptionStatus="completed",
            From="+14155550123",
            Direction="inbound",
            ErrorCode="",
        )
        body = urlencode({k: v for k, v in values.items() if k in names}).encode()
        form = read_form(body, "Twilio")
        events.append(twilio_voice.parse_twilio_voice(body, form, callback))  # type: ignore[arg-type]
    return events


def _meta(path: Path) -> list[InboundEvent]:
    data = json.loads(path.read_text())
    raw = path.read_text()
    if "request_body" in data:  # a relayed, flattened export
        lead = meta_leads.lead_from_flattened(data["request_body"])
        return [meta_leads.lead_event(meta_leads.notice_from_lead(lead), lead, raw)]
    if data.get("object") == "page":
        notices = meta_leads.parse_leadgen_notification(path.read_bytes())
        return [meta_leads.lead_event(n, {}, raw) for n in notices]
    leads = data["data"] if isinstance(data.get("data"), list) else [data]
    return [
        meta_leads.lead_event(meta_leads.notice_from_lead(lead), lead, raw)
        for lead in leads
    ]


def _linkedin(path: Path) -> list[InboundEvent]:
    event = linkedin.parse_linkedin(path.read_bytes())
    if event.fields.get("lead_action") == "DELETED" and event.creates_lead:
        raise AssertionError("a DELETED LinkedIn response must not create a lead")
    return [event]


def _payload(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return data.get("payload", data)


PARSERS: dict[str, Parser] = {
    "twilio": _twilio,
    "meta_lead_ads": _meta,
    "linkedin": _linkedin,
    "calendly": lambda p: [calendly.parse_calendly(p.read_bytes())],
    "calcom": lambda p: [calcom.parse_calcom(p.read_bytes())],
    "intercom": lambda p: [intercom.parse_intercom(p.read_bytes())],
    "mailgun": lambda p: [mailgun.parse_mailgun(_payload(p))],
    "sendgrid": lambda p: [sendgrid.parse_sendgrid(_payload(p))],
    "postmark": lambda p: [postmark.parse_postmark(p.read_bytes())],
}
# Form builders, CRMs, chat apps and automation tools (_app_webhooks.py).
PARSERS.update(APP_PARSERS)
CHANNELS.update(APP_CHANNELS)
# Amazon SES, Brevo, Mailjet, Mandrill, SparkPost, Resend, MailerSend.
PARSERS.update(MAIL_PARSERS)
CHANNELS.update(MAIL_CHANNELS)


# A sender firsttouch has no adapter for is pointed at the generic lead
# webhook, as an operator would: each of its files is then stored or refused
# with a reason like any other, never skipped.
GENERIC = "generic_json"


def providers_in(webhooks: Path) -> list[str]:
    """Every provider folder of the corpus: known adapters first, then the rest."""
    others = sorted(
        p.name for p in webhooks.iterdir() if p.is_dir() and p.name not in PARSERS
    )
    return [*PARSERS, *others]


def parser_for(provider: str) -> Parser:
    return PARSERS.get(provider, PARSERS[GENERIC])


def run_payloads(webhooks: Path) -> tuple[int, int, int, int, list[str]]:
    files = parsed = rejected = 0
    problems: list[str] = []
    providers = 0
    for provider in providers_in(webhooks):
        parser = parser_for(provider)
        folder = webhooks / provider
        paths = (
            sorted(p for p in folder.rglob("*") if p.is_file())
            if folder.is_dir()
            else []
        )
        providers += bool(paths)
        for path in paths:
            files += 1
            try:
                events = parser(path)
            except InputError as exc:
                rejected += 1
                parsed += 1
                print(f"  rejected {path.relative_to(webhooks)}: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - report every file's failure
                problems.append(
                    f"{path.relative_to(webhooks)}: {type(exc).__name__}: {exc}"
                )
                traceback.print_exc(file=sys.stderr)
                continue
            allowed = CHANNELS.get(provider, CHANNELS[GENERIC])
            wrong = [e.channel for e in events if e.channel not in allowed]
            if wrong:
                problems.append(f"{path.relative_to(webhooks)}: channel {wrong}")
                continue
            parsed += 1
    return files, parsed, rejected, providers, problems


def _vector_urls(vectors: dict[str, Any]) -> list[tuple[str, str]]:
    """(url, signature) for the main vector and each port variant."""
    url = vectors["url"]
    https_port = url.replace("mycompany.com", "mycompany.com:1234")
    http = url.replace("https://", "http://")
    cases = [(url, vectors["expected_signature"])]
    for description, signature in vectors.get("port_variants", {}).items():
        if description.startswith("http://"):
            cases.append((description, signature))
        elif "1234" in description:
            cases.append((https_port, signature))
        elif ":443" in description:
            cases.append((url, signature))
        elif ":80" in description:
            cases.append((http, signature))
    return cases


def run_signatures(path: Path) -> tuple[int, int, list[str]]:
    vectors = json.loads(path.read_text())
    token = Secret(vectors["auth_token"])
    params = FormFields(list(vectors["params"].items()))
    checks: list[tuple[str, str, FormFields | str]] = [
        (url, sig, params) for url, sig in _vector_urls(vectors)
    ]
    dup = vectors.get("duplicate_params")
    if dup:
        pairs = [(k, v) for k, v in dup["params_in_order"]]
        checks.append((vectors["url"], dup["expected_signature"], FormFields(pairs)))
    body = vectors.get("json_body")
    if body:
        checks.append((body["url"], body["expected_signature"], body["body"]))

    passed, problems = 0, []
    for url, signature, fields in checks:
        try:
            verify_twilio_signature(token, url, fields, signature)
            passed += 1
        except SignatureError as exc:
            problems.append(f"vector {url}: {exc}")
    # A tampered parameter must fail, or the check proves nothing.
    tampered = FormFields([*params.pairs[:-1], ("Caller", "+10000000000")])
    try:
        verify_twilio_signature(
            token, vectors["url"], tampered, vectors["expected_signature"]
        )
        problems.append("a tampered body passed the Twilio signature check")
    except SignatureError:
        pass
    return len(checks), passed, problems


def main(argv: list[str]) -> int:
    corpus = Path(argv[0] if argv else "../shared/corpus")
    webhooks = corpus / "webhooks"
    if not webhooks.is_dir():
        print(f"acceptance: capture_webhooks no corpus at {webhooks} FAIL")
        return 1

    files, parsed, rejected, providers, problems = run_payloads(webhooks)
    others = [p for p in providers_in(webhooks) if p not in PARSERS]
    if others:
        print(f"  through the generic lead webhook: {', '.join(others)}")
    for problem in problems:
        print(f"  FAILED {problem}")
    ok = not problems and files > 0 and parsed == files
    print(
        f"acceptance: capture_webhooks files={files} parsed={parsed} "
        f"providers={providers} rejected={rejected} failed={len(problems)} "
        f"{'PASS' if ok else 'FAIL'}"
    )

    vectors_path = webhooks / "twilio" / "signature_test_vectors.json"
    count, passed, sig_problems = run_signatures(vectors_path)
    for problem in sig_problems:
        print(f"  FAILED {problem}")
    sig_ok = not sig_problems and count > 0 and passed == count
    print(
        f"acceptance: twilio_signatures vectors={count} pass={passed} "
        f"{'PASS' if sig_ok else 'FAIL'}"
    )
    return 0 if ok and sig_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
