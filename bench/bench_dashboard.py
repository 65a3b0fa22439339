"""The queue page's server time with 10,000 open leads.

Figures: queue_10k_ms (SQLite, an admin who sees every lead), plus
queue_10k_rep_ms (a rep: own + unassigned) and queue_10k_pg_ms when the
local PostgreSQL answers. Each is the median of 15 requests made in process
(TestClient), after two warm-up requests; the leads are a seeded mix of
routes, owners and ages, each with a qualification.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from firsttouch import clock as clock_module  # noqa: E402
from firsttouch.clock import VirtualClock  # noqa: E402
from firsttouch.config import Settings  # noqa: E402
from firsttouch.runtime import Runtime  # noqa: E402
from firsttouch.store import migrate  # noqa: E402
from firsttouch.store.db import Database  # noqa: E402
from firsttouch.store.models import Contact, Inbound, Qualification  # noqa: E402
from firsttouch.web import accounts  # noqa: E402
from firsttouch.workspace import load_workspace  # noqa: E402

LEADS = 10_000
REQUESTS = 15
NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
PG_ADMIN = os.environ.get(
    "FIRSTTOUCH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "bench password 1"  # noqa: S105 - a throwaway bench account
OWNERS = ["maya", "luis", "hannah", "dana", None]
ROUTES = ["rep_now", "fast_track", "nurture", "disqualified"]


def line(name: str, value: float, target: str, note: str = "") -> None:
    # The machine's load says how far a figure is from an idle run.
    load = os.getloadavg()[0]
    print(
        f"bench: {name} value={value:.1f} unit=ms target={target} {note} "
        f"load1={load:.1f} cpus={os.cpu_count()}",
        flush=True,
    )


def seed(db: Database, clock: VirtualClock) -> None:
    rng = random.Random(7)
    contacts, inbounds, judged = [], [], []
    for n in range(1, LEADS + 1):
        owner = rng.choice(OWNERS)
        received = NOW - timedelta(minutes=rng.randint(1, 60 * 24 * 5))
        contacts.append(
            {
                "id": n,
                "first_name": f"Lead{n}",
                "last_name": "Bench",
                "email": f"lead{n}@bench.example",
                "owner_id": owner,
                "company_name": f"Company {n % 700}",
                "status": "new",
                "needs_review": False,
                "attributes": {},
                "created_at": received,
            }
        )
        inbounds.append(
            {
                "id": n,
                "dedupe_key": f"bench:{n}",
                "received_at": received,
                "channel": "web_form",
                "kind": "form",
                "source": "website",
                "contact_id": n,
                "owner_id": owner,
                "fields": {},
                "utm": {},
                "body_text": "We need a demo.",
                "status": "new",
                "sla_state": "waiting",
                "raw_truncated": False,
                "first_touch_due_at": received + timedelta(minutes=5),
                "human_due_at": received + timedelta(minutes=30),
            }
        )
        judged.append(
            {
                "inbound_id": n,
                "contact_id": n,
                "icp_version": "bench",
                "score": rng.randint(0, 100),
                "route": rng.choice(ROUTES),
                "intent": 0,
                "brief": "A bench lead.",
                "brief_source": "code",
                "reasons": {
                    "criteria": [{"name": "size", "points": 20, "reason": "bench"}]
                },
                "facts": {},
                "sources": [],
                "created_at": received,
            }
        )
    with db.transaction() as session:
        session.execute(insert(Contact), contacts)
        session.execute(insert(Inbound), inbounds)
        session.execute(insert(Qualification), judged)
    for email, role, rep_id in (
        ("admin@bench.example", "admin", None),
        ("maya@bench.example", "rep", "maya"),
    ):
        accounts.create_user(
            db,
            email,
            PASSWORD,
            role=role,
            rep_id=rep_id,
            reps=("maya",),
            clock=clock,
        )


def measure(db: Database, email: str) -> float:
    from fastapi.testclient import TestClient

    from firsttouch.web import create_app

    clock = VirtualClock(NOW)
    clock_module.install(clock)
    runtime = Runtime(
        settings=Settings(
            database_url=db.url, workspace_path=ROOT / "examples/workspace"
        ),
        db=db,
        workspace=load_workspace(ROOT / "examples/workspace"),
        clock=clock,
    )
    with TestClient(create_app(runtime)) as client:
        login = client.get("/login").text
        token = login.split('name="csrf_token" value="')[1].split('"')[0]
        client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        timings = []
        for attempt in range(REQUESTS + 2):
            started = time.perf_counter()
            answer = client.get("/")
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.status_code == 200 and "Hot leads" in answer.text
            if attempt >= 2:
                timings.append(elapsed)
    return statistics.median(timings)


def sqlite_figures() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        migrate.upgrade(url)
        db = Database(url)
        seed(db, VirtualClock(NOW))
        line(
            "queue_10k_ms",
            measure(db, "admin@bench.example"),
            "300",
            f"leads={LEADS} engine=sqlite viewer=admin",
        )
        line(
            "queue_10k_rep_ms",
            measure(db, "maya@bench.example"),
            "300",
            f"leads={LEADS} engine=sqlite viewer=rep",
        )
        db.dispose()


def postgres_figure() -> None:
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - no server means no figure
        print(f"# PostgreSQL not reachable ({type(exc).__name__}); skipped pg figure")
        return
    name = f"ft_bench_dash_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        db = Database(url)
        seed(db, VirtualClock(NOW))
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        line(
            "queue_10k_pg_ms",
            measure(db, "admin@bench.example"),
            "300",
            f"leads={LEADS} engine=postgresql viewer=admin",
        )
        db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    from firsttouch.logs import configure_logging

    configure_logging("console", "WARNING")
    sqlite_figures()
    postgres_figure()
