"""Replay the demo week built from the corpus's real lead data set.

Usage: ``python acceptance/demo_week.py [CORPUS]`` (default
``../shared/corpus``). The week's leads are sampled from
``datasets/leads/x_education/Leads.csv``; every one goes through capture,
first response and qualification. Prints ``acceptance: demo_week ...``
and exits 1 when a figure misses its threshold:

- every lead captured is answered (answered share 1.0), median first touch
  at most 60 s on the virtual clock, at least 95% inside five minutes
  (SMS-only leads at night wait for quiet hours to end: consent first);
- no SLA breach;
- the week's SMS STOP ends up on the opt-out list;
- qualification means something on real outcomes: leads routed to a rep
  (rep now or fast track) converted, in the data set, more often than
  leads routed to nurture.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from firsttouch.config import load_settings
from firsttouch.demo.run import DemoOptions, run_demo
from firsttouch.logs import configure_logging

ROOT = Path(__file__).resolve().parent.parent


def conversion(report, routes: tuple[str, ...]) -> float:  # type: ignore[no-untyped-def]
    rows = [
        report.conversion_by_route[r] for r in routes if r in report.conversion_by_route
    ]
    leads = sum(r["leads"] for r in rows)
    converted = sum(r["leads"] * r["converted"] for r in rows)
    return converted / leads if leads else 0.0


def main(argv: list[str]) -> int:
    corpus = Path(argv[0] if argv else "../shared/corpus").resolve()
    configure_logging("console", "ERROR")
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings().with_overrides(
            database_url=f"sqlite:///{folder}/demo.db",
            outbox_dir=Path(folder) / "outbox",
            workspace_path=ROOT / "examples" / "workspace",
        )
        report = run_demo(DemoOptions(settings=settings, corpus=corpus))

    ft = report.first_touch
    answered = ft.touched / ft.leads if ft.leads else 0.0
    stops = report.replay["notes"].get("SMS STOP to our text-back", 0)
    to_rep = conversion(report, ("rep_now", "fast_track"))
    nurture = conversion(report, ("nurture",))
    checks = {
        "answered": answered >= 1.0,
        "median": ft.median_s is not None and ft.median_s <= 60,
        "under_5min": ft.under_5min >= 0.95,
        "sla": report.sla_breaches == 0,
        "stop": stops >= 1 and report.opt_outs >= stops,
        "routing": to_rep > nurture,
        "corpus": "sampled from" in report.leads_note,
    }
    failed = [name for name, ok in checks.items() if not ok]
    print(
        f"acceptance: demo_week leads={ft.leads} answered={answered:.3f} "
        f"median_s={ft.median_s} p99_s={ft.p99_s} under_5min={ft.under_5min:.3f} "
        f"sla_breaches={report.sla_breaches} opt_outs={report.opt_outs} "
        f"converted_rep_routes={to_rep:.3f} converted_nurture={nurture:.3f} "
        f"threshold=answered>=1,median<=60,under_5min>=0.95,sla=0,rep>nurture "
        f"{'FAIL ' + ','.join(failed) if failed else 'PASS'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
