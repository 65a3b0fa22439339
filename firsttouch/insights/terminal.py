"""Print a leak report in a terminal, and show progress while a big file reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from firsttouch.insights.reading import Progress as ProgressCallback
from firsttouch.insights.results import LeakReport

# Below this size a file reads in about a second: no bar needed.
PROGRESS_FROM_BYTES = 8 * 1024 * 1024


@contextmanager
def progress_bar(console: Console, size: int) -> Iterator[ProgressCallback | None]:
    """Yield a progress callback for a file of ``size`` bytes, or None if small."""
    if size < PROGRESS_FROM_BYTES:
        yield None
        return

    columns = ("reading export", BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("read", total=size)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def print_summary(report: LeakReport, console: Console) -> None:
    """Print the biggest leak, every layer's score and the estimate."""
    console.print(
        f"[bold]Revenue Leak Score[/bold]  {report.records} records, "
        f"as of {report.as_of:%Y-%m-%d %H:%M} UTC: {report.as_of_note}"
    )
    if report.biggest_leak:
        leak = report.biggest_leak
        console.print(
            f"\n[bold red]Biggest leak: {leak.title}[/bold red]  {leak.headline}"
        )
        for item in leak.advice:
            console.print(f"  - {item}")
    else:
        console.print(f"\n{report.no_leak_reason}")

    table = Table(show_header=True, header_style="bold")
    for title in ("layer", "score", "", "worst figure / why not scored"):
        table.add_column(title)
    for layer in report.layers:
        if layer.score is None:
            table.add_row(layer.title, "-", "", f"[dim]{layer.no_data_reason}[/dim]")
            continue
        bar = "#" * (layer.score // 5) + "." * (20 - layer.score // 5)
        parts = [p for p in layer.parts if p.score is not None]
        worst = min(parts, key=lambda p: p.score or 0.0)
        table.add_row(
            layer.title,
            str(layer.score),
            bar,
            f"{worst.label}: {worst.metric} {worst.unit}",
        )
    console.print(table)

    estimate = report.estimate
    if estimate.available and estimate.value is not None:
        console.print(
            f"Recoverable pipeline (estimate): about {estimate.value:,.0f} "
            f"from {estimate.slow_leads} slow leads; see the report for "
            "every assumption and its source."
        )
    else:
        console.print(f"Recoverable pipeline: {estimate.reason}")

    summary = report.input
    console.print(
        f"[dim]{summary.rows_read} rows read, {summary.rows_used} used, "
        f"{summary.blank_rows} blank, {summary.duplicate_rows} duplicate, "
        f"{summary.problem_count} unreadable values[/dim]"
    )
    if summary.columns:
        columns = summary.columns
        mapped = ", ".join(f"{k}<-{v!r}" for k, v in columns.mapped.items())
        console.print(f"[dim]source {columns.detected_source}: {mapped}[/dim]")
        console.print(f"[dim]not in this export: {', '.join(columns.missing)}[/dim]")
