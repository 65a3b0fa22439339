"""How long the demo's week takes to replay, end to end.

Prints ``bench: demo_week_s`` (wall-clock seconds for the default week of
300 leads through capture, respond and qualify, target under 120 s on a
2-core machine) and the share of it spent inside the worker.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from firsttouch.config import load_settings  # noqa: E402
from firsttouch.demo.run import DemoOptions, run_demo  # noqa: E402
from firsttouch.logs import configure_logging  # noqa: E402


def main() -> None:
    configure_logging("console", "ERROR")
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings().with_overrides(
            database_url=f"sqlite:///{folder}/demo.db",
            workspace_path=ROOT / "examples" / "workspace",
        )
        started = time.monotonic()
        report = run_demo(
            DemoOptions(settings=settings, corpus=ROOT.parent / "shared" / "corpus")
        )
        elapsed = time.monotonic() - started
    work = report.replay.get("work_seconds", 0.0)
    print(
        f"bench: demo_week_s value={elapsed:.1f} unit=s target=<120 "
        f"arrivals={report.replay.get('arrivals')} "
        f"jobs={report.replay.get('jobs_run')}",
        flush=True,
    )
    print(
        f"bench: demo_worker_share value={work / elapsed:.2f} unit=ratio target=info",
        flush=True,
    )


if __name__ == "__main__":
    main()
