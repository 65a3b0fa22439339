"""Leak score over a 1,000,000-row export, against plain pandas doing the same.

Figures (one line each):
  leak_1m_rows_s   seconds to read, map, parse and score a 1,000,000-row
                   HubSpot-style contacts export (target under 10 s), with
                   peer=pandas: one read_csv and to_datetime per column, then
                   the same headline figures with plain pandas calls.
  leak_1m_peak_mb  peak resident memory of the process doing it, same peer.

Each run happens in a fresh subprocess, so the peak is that run's own
(the child's VmHWM; ``resource.getrusage`` where /proc is missing), and its
CPU seconds are printed beside the wall time: on a shared 2-core box the
wall time moves with other load, the CPU time much less. The export is
generated with a fixed seed into a temporary folder and deleted afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = int(os.environ.get("FIRSTTOUCH_BENCH_LEAK_ROWS", "1000000"))
TARGET_S = 10.0
HERE = Path(__file__).resolve().parent


def line(name: str, value: float, unit: str, target: str, **peer: object) -> None:
    extra = "".join(f" {k}={v}" for k, v in peer.items())
    print(
        f"bench: {name} value={value:.1f} unit={unit} target={target}{extra}",
        flush=True,
    )


def generate(path: Path, rows: int) -> None:
    """Write a HubSpot-style contacts export with realistic gaps and skew."""
    rng = np.random.default_rng(7)
    start = np.datetime64("2025-01-01T00:00")
    created = start + rng.integers(0, 365 * 24 * 60, rows).astype("timedelta64[m]")
    # Minutes to first touch: a long tail, cut at 60 days as CRMs would show.
    wait = (
        rng.lognormal(mean=4.0, sigma=2.0, size=rows).clip(max=86_400).astype("int64")
    )
    touched = rng.random(rows) > 0.15
    first = np.where(
        touched, created + wait.astype("timedelta64[m]"), np.datetime64("NaT")
    )
    touches = np.where(touched, rng.integers(1, 9, rows), 0)
    last = np.where(
        touched, first + (touches * 1440).astype("timedelta64[m]"), np.datetime64("NaT")
    )
    owners = np.array(["Ann Field", "Bob Reyes", "Cara Diaz", "Dan Wu", ""])
    sources = np.array(
        [
            "Paid Search",
            "Organic Search",
            "Direct Traffic",
            "Referrals",
            "Social Media",
            "",
        ]
    )
    statuses = np.array(
        ["New", "Open", "In Progress", "Connected", "Unqualified", "Bad Timing"]
    )
    frame = pd.DataFrame(
        {
            "Record ID": np.arange(1, rows + 1),
            "First Name": "Lead",
            "Contact owner": owners[rng.integers(0, len(owners), rows)],
            "Create Date": _iso(created),
            "Original Source": sources[rng.integers(0, len(sources), rows)],
            "Lead Status": statuses[rng.integers(0, len(statuses), rows)],
            "Date of first engagement": _iso(first),
            "Last Contacted": _iso(last),
            "Number of Sales Activities": touches,
            "HubSpot Score": np.where(
                rng.random(rows) > 0.3, rng.integers(0, 100, rows).astype(str), ""
            ),
            "Lifecycle Stage": np.where(rng.random(rows) > 0.9, "customer", "lead"),
        }
    )
    frame.to_csv(path, index=False)


def _iso(times: np.ndarray) -> np.ndarray:
    text = np.datetime_as_string(times, unit="m")
    return np.where(text == "NaT", "", np.char.replace(text, "T", " "))


def measure(mode: str, path: Path) -> dict[str, float]:
    """Run one scorer in a fresh process; return its seconds and peak MB."""
    # Our own interpreter running this very file: no untrusted input.
    result = subprocess.run(  # noqa: S603
        [sys.executable, __file__, mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_ours(path: Path) -> None:
    from firsttouch.insights.reading import read_export
    from firsttouch.insights.report import report_from_records

    read = read_export(path)
    report = report_from_records(
        read.records, summary=read.summary, date_only=read.date_only
    )
    assert report.layers_scored >= 3, report.layers_scored


def run_pandas(path: Path) -> None:
    """The same headline figures the way a pandas user would first write them."""
    frame = pd.read_csv(path)
    created = pd.to_datetime(frame["Create Date"])
    first = pd.to_datetime(frame["Date of first engagement"])
    minutes = (first - created).dt.total_seconds() / 60
    figures = {
        "no_source": frame["Original Source"].isna().mean(),
        "no_owner": frame["Contact owner"].isna().mean(),
        "median": minutes.median(),
        "p90": minutes.quantile(0.9),
        "within_5": (minutes <= 5).mean(),
        "never": minutes.isna().mean(),
        "scored": (
            frame["HubSpot Score"].notna() & frame["Contact owner"].notna()
        ).mean(),
        "touches": frame.loc[
            frame["Lifecycle Stage"] != "customer", "Number of Sales Activities"
        ].median(),
    }
    heat = (
        frame.assign(day=created.dt.day_of_week, hour=created.dt.hour, minutes=minutes)
        .groupby(["day", "hour"])["minutes"]
        .median()
    )
    assert len(heat) > 0 and figures["median"] > 0


def peak_mb() -> float:
    """This process's peak resident memory.

    VmHWM starts afresh at exec; ``getrusage``'s ru_maxrss would carry the
    parent's peak over from the fork, so it is only the fallback.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for row in status.read_text().splitlines():
            if row.startswith("VmHWM:"):
                return int(row.split()[1]) / 1024

    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, path: Path) -> None:
    if mode == "generate":
        generate(path, ROWS)
        return

    started = time.perf_counter()
    cpu_started = time.process_time()
    if mode == "ours":
        run_ours(path)
    else:
        run_pandas(path)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "peak_mb": peak_mb()}))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="leak-bench-") as folder:
        path = Path(folder) / "contacts.csv"
        started = time.perf_counter()
        # Generated in a child, so this process stays small and forks light.
        command = [sys.executable, __file__, "generate", str(path)]
        subprocess.run(command, check=True)  # noqa: S603 - this file, our interpreter
        print(
            f"# generated {ROWS} rows ({path.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - started:.1f}s",
            flush=True,
        )
        ours = measure("ours", path)
        peer = measure("pandas", path)

    suffix = "1m" if ROWS == 1_000_000 else f"{ROWS}"
    line(
        f"leak_{suffix}_rows_s",
        ours["seconds"],
        "s",
        f"<{TARGET_S:g}",
        peer="pandas",
        peer_value=f"{peer['seconds']:.1f}",
        ratio=f"{ours['seconds'] / peer['seconds']:.2f}",
        cpu_s=f"{ours['cpu_s']:.1f}",
        peer_cpu_s=f"{peer['cpu_s']:.1f}",
        load=f"{os.getloadavg()[0]:.1f}",
    )
    line(
        f"leak_{suffix}_peak_mb",
        ours["peak_mb"],
        "MB",
        "report",
        peer="pandas",
        peer_value=f"{peer['peak_mb']:.1f}",
        ratio=f"{ours['peak_mb'] / peer['peak_mb']:.2f}",
    )


if __name__ == "__main__":
    if len(sys.argv) == 3:
        child(sys.argv[1], Path(sys.argv[2]))
    else:
        main()
