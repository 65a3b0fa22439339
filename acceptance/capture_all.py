"""Every corpus webhook payload and raw email through capture, into a store.

Usage: ``python acceptance/capture_all.py [CORPUS]`` (default
``../shared/corpus``). Each webhook file of a provider firsttouch has an
adapter for is parsed by that adapter and each event it yields is ingested;
each ``.eml`` is parsed and ingested as inbound mail. Every input ends one
of three ways:

- ingested: stored; when it makes a lead, the lead has a contact and an
  owner (a lead without them counts as unexplained);
- rejected: refused by the adapter with a stated reason (an empty export);
- unexplained: anything else (a crash, a lead with no contact or owner).

Prints ``acceptance: capture total=N ingested=N rejected=N unexplained=N``
and exits 1 unless unexplained is 0.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from capture_emails import scratch_runtime
from capture_webhooks import parser_for, providers_in

from firsttouch.capture.email_parse import email_to_event
from firsttouch.capture.events import InboundEvent
from firsttouch.capture.ingest import ingest
from firsttouch.capture.providers.twilio_calls import capture_call_event
from firsttouch.errors import InputError
from firsttouch.logs import configure_logging
from firsttouch.runtime import Runtime
from firsttouch.store.models import Inbound


def store(runtime: Runtime, event: InboundEvent) -> str | None:
    """Ingest one event the way its endpoint does; say what is wrong, if anything."""
    if event.channel == "call":
        result = capture_call_event(runtime, event)
    else:
        result = ingest(runtime, event)
    if not result.created_lead:
        return None
    with runtime.db.sessions() as session:
        inbound = session.get(Inbound, result.inbound_id)
        if inbound is None or inbound.contact_id is None or inbound.owner_id is None:
            return "a lead without a contact or an owner"
    return None


def webhook_inputs(corpus: Path) -> list[tuple[str, Path]]:
    webhooks = corpus / "webhooks"
    found = []
    for provider in providers_in(webhooks) if webhooks.is_dir() else []:
        folder = webhooks / provider
        if folder.is_dir():
            found += [(provider, p) for p in sorted(folder.rglob("*")) if p.is_file()]
    return found


def main(argv: list[str]) -> int:
    configure_logging(level="WARNING")
    corpus = Path(argv[0] if argv else "../shared/corpus").resolve()
    hooks = webhook_inputs(corpus)
    emails = sorted((corpus / "emails").rglob("*.eml"))
    ingested = rejected = 0
    unexplained: list[str] = []

    with tempfile.TemporaryDirectory() as tmp:
        runtime = scratch_runtime(Path(tmp))
        for provider, path in hooks:
            name = str(path.relative_to(corpus))
            try:
                events = parser_for(provider)(path)
            except InputError:
                rejected += 1
                continue
            except Exception as exc:  # noqa: BLE001 - counted and shown
                unexplained.append(f"{name}: {type(exc).__name__}: {exc}")
                continue
            problems = [p for p in (_safe_store(runtime, e, name) for e in events) if p]
            if problems:
                unexplained += problems
            else:
                ingested += 1
        for path in emails:
            name = str(path.relative_to(corpus))
            try:
                event = email_to_event(
                    path.read_bytes(), provider="smtp", source="email"
                )
            except Exception as exc:  # noqa: BLE001 - counted and shown
                unexplained.append(f"{name}: {type(exc).__name__}: {exc}")
                continue
            problem = _safe_store(runtime, event, name)
            if problem:
                unexplained.append(problem)
            else:
                ingested += 1
        runtime.close()

    total = len(hooks) + len(emails)
    ok = not unexplained and ingested + rejected == total
    print(
        f"acceptance: capture total={total} ingested={ingested} rejected={rejected} "
        f"unexplained={len(unexplained)} threshold=unexplained=0 "
        f"{'PASS' if ok else 'FAIL'}"
    )
    for line in unexplained[:20]:
        print("  " + line.replace("\n", " | ")[:300], file=sys.stderr)
    return 0 if ok else 1


def _safe_store(runtime: Runtime, event: InboundEvent, name: str) -> str | None:
    try:
        problem = store(runtime, event)
    except Exception as exc:  # noqa: BLE001 - counted and shown
        return f"{name}: {type(exc).__name__}: {exc}"
    return f"{name}: {problem}" if problem else None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
