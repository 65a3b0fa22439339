"""Inbound-to-first-touch latency: a form POST to the email fully received.

Runs ``firsttouch serve`` (web app and worker in one process, SQLite) with
the example workspace sending through SMTP to the peer harness's sink, and
drives it with the peer harness's own load generator, so our figures and
n8n's come from the same tools (``../shared/bench-peers/n8n``).

Figures: first_touch_p50_ms and first_touch_p99_ms at 50 leads/s,
first_touch_p99_ms_200 at 200 leads/s, burst_1000_max_s (the last email of
a burst of 1,000), serve_peak_rss_mb (peak RSS, summed over our processes),
serve_cpu_ms_per_lead (CPU time our processes spent, user and system, over
every lead of the scenarios run: at 200 leads/s one core has 5 ms a lead),
for the embedded default, which also runs 200 leads/s for 30 s
(first_touch_p99_ms_200_30s, and first_touch_emails_per_s_200_30s: whether
the rate is held or a backlog grows); then the same with the suffix ``_split`` for
``serve --no-worker`` plus one ``firsttouch worker`` process on the same
SQLite file, and with ``_pg`` for ``serve --no-worker`` plus two workers on
a fresh database of the local PostgreSQL (the scale-out deployment).
``FIRSTTOUCH_BENCH_WORKERS=N`` runs only SQLite's ``serve --no-worker``
with N workers (N=0: only the embedded default).
Peer figures are n8n's from the harness's RESULTS.md on this machine.
"""

# S603: every command here is ours (firsttouch, the peer harness), no outside input.
# ruff: noqa: S603

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from machine import loop_ms
from pg import fresh_database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEER = Path(
    os.environ.get(
        "FIRSTTOUCH_BENCH_PEER", ROOT.parent / "shared" / "bench-peers" / "n8n"
    )
)
# n8n 2.41.1 on this machine (RESULTS.md): p50/p99 at 50/s, p99 at 100/s (it
# cannot hold 200/s), the time to drain a burst of 1,000, and its peak RSS.
N8N = {
    "p50_50": 859.3,
    "p99_50": 1154.7,
    "p99_200": 7503.7,
    "burst_s": 24.0,
    "rss_mb": 2252.4,
}
SCENARIOS = (
    ("rate50", ["--n", "500", "--rate", "50"]),
    ("rate200", ["--n", "1000", "--rate", "200"]),
    ("burst1000", ["--n", "1000", "--burst", "--concurrency", "32"]),
)
# The embedded default only: 200 leads a second for 30 s. Five seconds at
# that rate hide a backlog that grows when the rate is not held; this shows
# whether it is.
STEADY = ("rate200_30s", ["--n", "6000", "--rate", "200"])


def line(name: str, value: float, unit: str, target: str, peer: float | None) -> None:
    extra = ""
    if peer is not None and value > 0:
        extra = f" peer=n8n peer_value={peer:.1f} ratio={peer / value:.1f}x"
    print(
        f"bench: {name} value={value:.1f} unit={unit} target={target}{extra}",
        flush=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_workspace(folder: Path, smtp_port: int) -> Path:
    """The example workspace, sending for real to the sink, with a bench form."""
    source = ROOT / "examples" / "workspace"
    shutil.copytree(source / "templates", folder / "templates")
    data = yaml.safe_load((source / "firsttouch.yaml").read_text())
    data["channels"]["outbox"] = False
    data["channels"]["smtp"].update(
        port=smtp_port, per_minute=100_000, per_day=1_000_000
    )
    data["forms"]["bench"] = {
        "name": "Bench",
        "source": "website",
        "rate_limit_per_minute": 1_000_000,
        "field_map": {
            "name": "full_name",
            "email": "email",
            "company": "company",
            "message": "message",
        },
    }
    (folder / "firsttouch.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def peak_rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmHWM:"):
            return int(row.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` so far, every thread included."""
    # Fields 14 and 15 of /proc/PID/stat (proc(5)), after the parenthesised name.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settled_cpu_seconds(procs: tuple[subprocess.Popen[bytes], ...]) -> float:
    """Their CPU time once they go idle (the jobs a lead queues after its
    email count for that lead, not the next scenario), 30 s at most."""
    total = sum(cpu_seconds(p.pid) for p in procs)
    for _ in range(60):
        time.sleep(0.5)
        now = sum(cpu_seconds(p.pid) for p in procs)
        idle, total = now - total < 0.02, now
        if idle:
            break
    return total


def wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"firsttouch serve exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"firsttouch serve did not answer {url} in {seconds}s")


def run_deployment(
    workers_wanted: int, database: str | None = None
) -> tuple[dict[str, dict[str, Any]], float]:
    """Serve, drive every scenario, stop; return (figures by label, peak RSS).

    ``workers_wanted`` 0 is the embedded default, one process serving and
    working; N is ``serve --no-worker`` plus N ``firsttouch worker``.
    """
    work = Path(tempfile.mkdtemp(prefix="ft-bench-first-touch-"))
    smtp_port, web_port = free_port(), free_port()
    sink_log, results = work / "sink.jsonl", work / "results.jsonl"
    db_url = database or f"sqlite:///{work / 'firsttouch.db'}"
    env = {
        **os.environ,
        "FIRSTTOUCH_LOG_LEVEL": "WARNING",
        "FIRSTTOUCH_DATABASE_URL": db_url,
        "FIRSTTOUCH_WORKSPACE": str(bench_workspace(work / "ws", smtp_port)),
        "FIRSTTOUCH_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "TWILIO_AUTH_TOKEN": "bench-token",
    }
    firsttouch = str(Path(sys.executable).with_name("firsttouch"))
    subprocess.run(
        [firsttouch, "db", "upgrade"], env=env, check=True, capture_output=True
    )

    sink = subprocess.Popen(
        [
            sys.executable,
            str(PEER / "smtp_sink.py"),
            "--port",
            str(smtp_port),
            "--log",
            str(sink_log),
        ],
        stdout=subprocess.DEVNULL,
    )
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - closed with the processes
    serve_args = ["serve", "--port", str(web_port)]
    if workers_wanted:
        serve_args.append("--no-worker")
    if workers_wanted and database is None:
        # SQLite has no LISTEN/NOTIFY: a worker in another process polls.
        env["FIRSTTOUCH_JOB_POLL_SECONDS"] = "0.02"
    serve = subprocess.Popen(
        [firsttouch, *serve_args], env=env, stdout=subprocess.DEVNULL, stderr=log
    )
    workers = [
        subprocess.Popen(
            [firsttouch, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
        for _ in range(workers_wanted)
    ]
    figures: dict[str, dict[str, Any]] = {}
    try:
        wait_ready(f"http://127.0.0.1:{web_port}/healthz", serve)
        url = f"http://127.0.0.1:{web_port}/capture/forms/bench"
        wanted = os.environ.get("FIRSTTOUCH_BENCH_SCENARIOS", "")
        scenarios = SCENARIOS if workers_wanted or database else (*SCENARIOS, STEADY)
        chosen = [s for s in scenarios if not wanted or s[0] in wanted.split(",")]
        ours = (serve, *workers)
        cpu: dict[str, float] = {}
        for label, args in (("probe", ["--n", "5", "--rate", "5"]), *chosen):
            cpu_before = sum(cpu_seconds(p.pid) for p in ours)
            subprocess.run(
                [
                    sys.executable,
                    str(PEER / "loadgen.py"),
                    "--url",
                    url,
                    "--sink-log",
                    str(sink_log),
                    "--label",
                    label,
                    "--out",
                    str(results),
                    "--drain-timeout",
                    "60",
                    "--max-seconds",
                    "300",
                    *args,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            cpu[label] = settled_cpu_seconds(ours) - cpu_before
        for row in results.read_text().splitlines():
            result = json.loads(row)
            result["serve_cpu_s"] = cpu.get(result["label"], 0.0)
            figures[result["label"]] = result
        rss = sum(peak_rss_mb(p.pid) for p in ours)
    finally:
        for proc in (serve, *workers, sink):
            proc.send_signal(signal.SIGTERM)
        for proc in (serve, *workers, sink):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        if not os.environ.get("FIRSTTOUCH_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    return figures, rss


def report(figures: dict[str, dict[str, Any]], rss: float, suffix: str) -> None:
    def e2e(label: str, key: str) -> float:
        # A scenario with no email at all reports no latency: count it as -1.
        latency = figures.get(label, {}).get("e2e_latency") or {}
        return float(latency.get(key, -1))

    for label, result in figures.items():
        print(
            f"# {label}{suffix}: posted={result['posted']} "
            f"accepted={result['accepted_2xx']} emails={result['emails_received']} "
            f"lost={result['lost_of_accepted']} dups={result['duplicates']} "
            f"serve_cpu_ms_per_lead={_cpu_ms_per_lead([result]):.2f} "
            f"e2e={result['e2e_latency']}",
            flush=True,
        )
    p50, p99 = e2e("rate50", "p50_ms"), e2e("rate50", "p99_ms")
    line(f"first_touch_p50_ms{suffix}", p50, "ms", "<100", N8N["p50_50"])
    line(f"first_touch_p99_ms{suffix}", p99, "ms", "<500", N8N["p99_50"])
    p99_200 = e2e("rate200", "p99_ms")
    line(f"first_touch_p99_ms_200{suffix}", p99_200, "ms", "<1000", N8N["p99_200"])
    if "rate200_30s" in figures:
        steady = e2e("rate200_30s", "p99_ms")
        line(f"first_touch_p99_ms_200_30s{suffix}", steady, "ms", "<1000", None)
        sent = float(figures["rate200_30s"].get("emails_per_s") or -1)
        line(f"first_touch_emails_per_s_200_30s{suffix}", sent, "1/s", ">=200", None)
    burst = e2e("burst1000", "max_ms") / 1000
    line(f"burst_1000_max_s{suffix}", burst, "s", "<10", N8N["burst_s"])
    line(f"serve_peak_rss_mb{suffix}", rss, "MiB", "<300", N8N["rss_mb"])
    driven = [r for label, r in figures.items() if label != "probe"]
    cpu_ms = _cpu_ms_per_lead(driven)
    line(f"serve_cpu_ms_per_lead{suffix}", cpu_ms, "ms", "<5", None)


def _cpu_ms_per_lead(results: list[dict[str, Any]]) -> float:
    leads = sum(int(r["posted"]) for r in results)
    return 1000 * sum(r["serve_cpu_s"] for r in results) / leads if leads else -1


def main() -> int:
    if not (PEER / "loadgen.py").exists():
        print(f"bench: first_touch_skipped value=1 unit=bool target=0 (no {PEER})")
        return 0
    chosen = os.environ.get("FIRSTTOUCH_BENCH_WORKERS")
    # The embedded default under the names; then the same machine
    # with the worker in its own process (the web tier and the worker stop
    # sharing one interpreter lock), suffixed _split; then the scale-out
    # deployment on PostgreSQL, suffixed _pg.
    deployments = DEPLOYMENTS
    if chosen:
        workers = int(chosen)
        what = f"SQLite, `serve --no-worker` + {workers} `worker`" if workers else ""
        deployments = (("_split" if workers else "", workers, False, what),)
    for suffix, workers, on_postgres, what in deployments:
        print(f"# deployment: {what or DEPLOYMENTS[0][3]}")
        print(f"# machine_loop_ms={loop_ms():.0f}", flush=True)
        if on_postgres:
            with fresh_database("ft_bench_first_touch") as database:
                figures, rss = run_deployment(workers, database)
        else:
            figures, rss = run_deployment(workers)
        report(figures, rss, suffix)
    return 0


DEPLOYMENTS = (
    ("", 0, False, "embedded: one `firsttouch serve` process (SQLite)"),
    ("_split", 1, False, "split: `serve --no-worker` + one `worker` (SQLite)"),
    ("_pg", 2, True, "PostgreSQL: `serve --no-worker` + two `worker` processes"),
)


if __name__ == "__main__":
    sys.exit(main())
