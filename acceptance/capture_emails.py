"""Run every raw email in the corpus through parsing and capture.

Usage: ``python acceptance/capture_emails.py [CORPUS]`` (default
``../shared/corpus``). Every ``.eml`` under ``emails/`` must parse (never
raise), and every one with a body must yield readable text. Each is then
ingested into a scratch SQLite database with the example workspace: it
becomes a lead with a contact and an owner, attaches to the message it
replies to, or is recorded without a lead for a stated reason (a delivery
report, an auto-reply, no sender). Known answers from the corpus notes
(Hebrew and Big5-labelled UTF-8 bodies) are checked exactly.

Prints ``acceptance: capture_emails files=N parsed=N with_text=N ...`` and
``acceptance: capture_emails_ingest total=N ...``; exits 1 below threshold.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from firsttouch.capture.email_parse import email_to_event, parse_email
from firsttouch.capture.ingest import ingest
from firsttouch.clock import VirtualClock
from firsttouch.config import Settings
from firsttouch.logs import configure_logging
from firsttouch.runtime import Runtime
from firsttouch.store import migrate
from firsttouch.store.db import Database
from firsttouch.workspace import load_workspace

ROOT = Path(__file__).resolve().parent.parent
TEXT_THRESHOLD = 0.99
KNOWN_TEXT = {
    "hebrew_reply.eml": "שלום! מה שלומך היום?",
    "chinese_reply.eml": "您好！ 你今天好吗？",
}


def has_body(raw: bytes) -> bool:
    """True when anything but whitespace follows the header block."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at >= 0:
            return bool(raw[at + len(sep) :].strip())
    return False


def scratch_runtime(folder: Path) -> Runtime:
    url = f"sqlite:///{folder / 'acceptance.db'}"
    migrate.upgrade(url)
    clock = VirtualClock(datetime(2026, 3, 10, 14, 0, tzinfo=UTC))
    settings = Settings(database_url=url, workspace_path=ROOT / "examples/workspace")
    return Runtime(
        settings=settings,
        db=Database(url),
        workspace=load_workspace(settings.workspace_path),
        clock=clock,
    )


def main(argv: list[str]) -> int:
    configure_logging(level="WARNING")
    corpus = Path(argv[0] if argv else "../shared/corpus").resolve()
    files = sorted((corpus / "emails").rglob("*.eml"))
    if not files:
        print(f"acceptance: capture_emails no .eml under {corpus / 'emails'}")
        return 0

    parsed = with_text = bodies = 0
    known_ok = 0
    failures: list[str] = []
    outcomes: Counter[str] = Counter()
    unexplained: list[str] = []

    with tempfile.TemporaryDirectory() as tmp:
        runtime = scratch_runtime(Path(tmp))
        for path in files:
            raw = path.read_bytes()
            name = str(path.relative_to(corpus))
            try:
                email = parse_email(raw)
            except Exception:  # noqa: BLE001 - a crash is exactly what is measured
                failures.append(f"{name}: {traceback.format_exc(limit=2)}")
                continue
            parsed += 1
            body = has_body(raw)
            bodies += body
            with_text += body and bool(email.text.strip())
            expected = KNOWN_TEXT.get(path.name)
            if expected and expected in email.text:
                known_ok += 1
            elif expected:
                failures.append(f"{name}: expected {expected!r} in the text")

            try:
                outcomes[capture(runtime, raw)] += 1
            except Exception as exc:  # noqa: BLE001 - counted, shown below
                unexplained.append(f"{name}: {type(exc).__name__}: {exc}")
        runtime.close()

    share = with_text / bodies if bodies else 1.0
    ok = (
        parsed == len(files) and share >= TEXT_THRESHOLD and known_ok == len(KNOWN_TEXT)
    )
    print(
        f"acceptance: capture_emails files={len(files)} parsed={parsed} "
        f"with_body={bodies} with_text={with_text} known_answers={known_ok}/"
        f"{len(KNOWN_TEXT)} threshold={TEXT_THRESHOLD} {'PASS' if ok else 'FAIL'}"
    )
    reasons = " ".join(f"{k}={v}" for k, v in sorted(outcomes.items()))
    ingest_ok = not unexplained
    print(
        f"acceptance: capture_emails_ingest total={len(files)} "
        f"ingested={sum(outcomes.values())} {reasons} unexplained={len(unexplained)} "
        f"{'PASS' if ingest_ok else 'FAIL'}"
    )
    for line in (failures + unexplained)[:20]:
        print("  " + line.replace("\n", " | ")[:300], file=sys.stderr)
    return 0 if ok and ingest_ok else 1


def capture(runtime: Runtime, raw: bytes) -> str:
    """Ingest one message; return what became of it, as a stated reason."""
    event = email_to_event(raw, provider="smtp", source="email")
    result = ingest(runtime, event)
    if result.duplicate:
        return "duplicate_message_id"
    if result.created_lead:
        return "lead"
    if event.kind == "status":
        return "recorded_delivery_report"
    if event.fields.get("auto_submitted"):
        return "recorded_auto_reply"
    if result.contact_id is not None:
        return "reply_attached"
    if event.person.email is None:
        return "recorded_no_sender"
    return "recorded_other"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
