"""Qualification speed: one lead end to end, and the scorer alone.

Figures (one line each):
  qualify_per_lead_ms  the qualify.inbound path for one stored inbound on a
                       SQLite file: read the lead, run the offline sources
                       (email, title), score, write the brief, store the
                       result (and the owner alert for rep_now), mean of
                       N leads; network sources off, as in the example
                       workspace.
  score_per_s          the example ICP's scorer alone over facts already
                       gathered (enrichment cached), one core.
  learn_100k_s         ``firsttouch icp learn`` on 100,000 past leads (a
                       seeded CSV in the example ICP's columns): read, derive
                       email type and title, score every row, fit the
                       calibrated model.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from firsttouch.clock import VirtualClock  # noqa: E402
from firsttouch.logs import configure_logging  # noqa: E402
from firsttouch.qualify.facts import FactSheet  # noqa: E402
from firsttouch.qualify.learning import learn, read_history  # noqa: E402
from firsttouch.qualify.providers.offline import EmailProvider, TitleProvider  # noqa: E402
from firsttouch.qualify.qualification import qualify_inbound  # noqa: E402
from firsttouch.qualify.scoring import Scorer  # noqa: E402
from firsttouch.store import migrate  # noqa: E402
from firsttouch.store.db import Database  # noqa: E402
from firsttouch.store.models import Contact, Inbound  # noqa: E402
from firsttouch.workspace import load_workspace  # noqa: E402

LEADS = 300
SCORES = 20_000
TITLES = [
    "VP Sales",
    "Controller",
    "Student",
    "CFO",
    "AP Clerk",
    "Head of Finance",
    "Software Engineer",
    "Office Manager",
    "Geschäftsführer",
    "Directeur financier",
]
DOMAINS = [
    "acme-analytics.com",
    "gmail.com",
    "nordlicht.example",
    "yahoo.com",
    "mailinator.com",
    "blueharbor.example",
]
INDUSTRIES = ["SaaS", "Manufacturing", "Retail", "Hospital & Health Care", "Bakery"]
COUNTRIES = ["US", "GB", "DE", "IN", "FR", "CA"]


def _lead(rng: random.Random, n: int) -> dict[str, object]:
    return {
        "email": f"person{n}@{rng.choice(DOMAINS)}",
        "title": rng.choice(TITLES),
        "company_name": f"Company {n % 50}",
        "country": rng.choice(COUNTRIES),
        "attributes": {
            "employees": rng.choice([4, 40, 200, 1500, 9000]),
            "industry": rng.choice(INDUSTRIES),
        },
    }


def bench_end_to_end(folder: Path) -> float:
    url = f"sqlite:///{folder / 'bench.db'}"
    migrate.upgrade(url)
    db = Database(url)
    workspace = load_workspace(ROOT / "examples" / "workspace")
    clock = VirtualClock(datetime(2026, 3, 10, 14, 0, tzinfo=UTC))
    rng = random.Random(7)
    ids = []
    with db.transaction() as session:
        for n in range(LEADS):
            values = _lead(rng, n)
            contact = Contact(email_norm=values["email"], **values)
            session.add(contact)
            session.flush()
            inbound = Inbound(
                dedupe_key=f"bench:{n}",
                received_at=clock.now(),
                channel="web_form",
                kind="form",
                source="website",
                contact_id=contact.id,
                body_text="demo pricing asap",
            )
            session.add(inbound)
            session.flush()
            ids.append(inbound.id)

    providers = [EmailProvider(), TitleProvider()]
    started = time.perf_counter()
    for inbound_id in ids:
        qualify_inbound(
            db,
            workspace,
            inbound_id,
            providers=providers,  # type: ignore[arg-type]
            now=clock.now(),
        )
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed / LEADS * 1000


def bench_scorer() -> float:
    workspace = load_workspace(ROOT / "examples" / "workspace")
    scorer = Scorer(workspace.icp)
    rng = random.Random(11)
    sheets = []
    for n in range(500):
        values = _lead(rng, n)
        facts = FactSheet()
        facts.merge(
            {
                "email": values["email"],
                "title": values["title"],
                "country": values["country"],
                "message": "Could we get pricing and a demo this quarter?",
                **values["attributes"],
            },
            "lead",
        )  # type: ignore[dict-item]
        for provider in (EmailProvider(), TitleProvider()):
            key = provider.key(facts)
            if key:
                facts.merge(provider.lookup(key, facts), provider.name)
        sheets.append(facts)
    started = time.perf_counter()
    for n in range(SCORES):
        scorer.score(sheets[n % len(sheets)])
    return SCORES / (time.perf_counter() - started)


def bench_learn(folder: Path, rows: int = 100_000) -> float:
    rng = random.Random(13)
    path = folder / "history.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("Email,Title,Employees,Industry,Country,Message,Won\n")
        for n in range(rows):
            lead = _lead(rng, n)
            attrs = lead["attributes"]
            fit = attrs["employees"] in (200, 1500) and lead["country"] in ("US", "GB")  # type: ignore[index]
            won = rng.random() < (0.45 if fit else 0.15)
            out.write(
                f"{lead['email']},{lead['title']},{attrs['employees']},"  # type: ignore[index]
                f"{attrs['industry']},{lead['country']},"  # type: ignore[index]
                f"{rng.choice(['demo please', 'just looking', ''])},{int(won)}\n"
            )
    workspace = load_workspace(ROOT / "examples" / "workspace")
    started = time.perf_counter()
    learn(workspace.icp, read_history(path, "Won"))
    return time.perf_counter() - started


def main() -> int:
    configure_logging(level="WARNING")
    folder = Path(tempfile.mkdtemp(prefix="ft-bench-qualify-"))
    try:
        per_lead = bench_end_to_end(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"bench: qualify_per_lead_ms value={per_lead:.2f} unit=ms target=<50 "
        f"leads={LEADS} db=sqlite sources=offline",
        flush=True,
    )
    rate = bench_scorer()
    print(
        f"bench: score_per_s value={rate:.0f} unit=per_s target=5000 scores={SCORES}",
        flush=True,
    )
    folder = Path(tempfile.mkdtemp(prefix="ft-bench-learn-"))
    try:
        seconds = bench_learn(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"bench: learn_100k_s value={seconds:.1f} unit=s target=<60 rows=100000",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
