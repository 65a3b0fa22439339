"""Run the Revenue Leak Score on the corpus's CRM export and lead data set.

Usage: ``python acceptance/leak_score.py [CORPUS]`` (default
``../shared/corpus``). Each set goes through the same path as
``firsttouch leak-score``: read, map, score, and write the HTML report with
its charts and the JSON. Prints ``acceptance: leak_crm layers_scored=N
biggest=LAYER ...`` and ``acceptance: leak_leads ...``; a layer the data
cannot feed is listed under ``no_data``. Exits 1 when a check fails.

Checks against the corpus notes (their figures are computed, a regression
baseline): Maven CRM win rate 63.1%, 1,432 open Engaging deals older than
the 90th-percentile won cycle; X Education 9,240 leads converting 38.5%.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from firsttouch.insights.reading import read_export
from firsttouch.insights.report import report_from_records
from firsttouch.insights.results import LeakReport
from firsttouch.insights.writing import report_json, write_html

CRM = Path("datasets/crm/maven_crm_sales_opportunities/sales_pipeline.csv")
LEADS = Path("datasets/leads/x_education/Leads.csv")


def score(path: Path, out: Path) -> tuple[LeakReport, float]:
    """Score one file as the command would, writing HTML and JSON to ``out``."""
    started = time.monotonic()
    read = read_export(path)
    report = report_from_records(
        read.records, summary=read.summary, date_only=read.date_only
    )
    write_html(report, out / f"{path.stem}.html")
    json.loads(report_json(report))
    return report, time.monotonic() - started


def crm_checks(report: LeakReport) -> list[str]:
    """What must hold for the Maven CRM export."""
    figures = {f.key: f.value for f in report.layer("crm").figures}
    conversion = {a.key: a.value for a in report.estimate.assumptions}
    failures = []
    if figures.get("stuck_count") != 1432:
        failures.append(f"stuck_count={figures.get('stuck_count')} expected 1432")
    if conversion.get("conversion_rate") != round(4238 / 6711, 4):
        failures.append(f"conversion={conversion.get('conversion_rate')}")
    if report.layer("respond").score is not None:
        failures.append("respond scored without first-touch times")
    return failures


def leads_checks(report: LeakReport) -> list[str]:
    """What must hold for the X Education lead set."""
    conversion = {a.key: a.value for a in report.estimate.assumptions}
    failures = []
    if report.input.rows_used != 9240:
        failures.append(f"rows_used={report.input.rows_used} expected 9240")
    if conversion.get("conversion_rate") != round(3561 / 9240, 4):
        failures.append(f"conversion={conversion.get('conversion_rate')}")
    return failures


def run(
    name: str, path: Path, out: Path, checks: Callable[[LeakReport], list[str]]
) -> bool:
    """Score one set, print its line, and say whether it passed."""
    if not path.is_file():
        print(f"acceptance: {name} missing={path} FAIL")
        return False

    report, seconds = score(path, out)
    failures = checks(report)
    if report.layers_scored == 0 or report.biggest_leak is None:
        failures.append("no layer scored")
    biggest = report.biggest_leak.layer if report.biggest_leak else "none"
    scores = ",".join(
        f"{layer.layer}:{layer.score}"
        for layer in report.layers
        if layer.score is not None
    )
    no_data = ",".join(layer.layer for layer in report.layers if layer.score is None)
    verdict = "PASS" if not failures else f"problems={'|'.join(failures)!r} FAIL"
    print(
        f"acceptance: {name} layers_scored={report.layers_scored} biggest={biggest} "
        f"scores={scores} no_data={no_data or 'none'} rows={report.records} "
        f"seconds={seconds:.1f} {verdict}",
        flush=True,
    )
    return not failures


def main(argv: list[str]) -> int:
    corpus = Path(argv[0] if argv else "../shared/corpus").resolve()
    with tempfile.TemporaryDirectory(prefix="leak-acceptance-") as scratch:
        out = Path(scratch)
        results = [
            run("leak_crm", corpus / CRM, out, crm_checks),
            run("leak_leads", corpus / LEADS, out, leads_checks),
        ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
