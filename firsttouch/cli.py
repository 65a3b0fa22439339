"""The ``firsttouch`` command: set up, check, serve, work and operate."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from firsttouch.config import Settings, load_settings, local_url, public_url_of
from firsttouch.errors import FirsttouchError, WorkspaceError
from firsttouch.logs import configure_logging

if TYPE_CHECKING:
    from firsttouch.jobs.runner import Worker
    from firsttouch.runtime import Runtime

app = typer.Typer(
    help="firsttouch: answer every inbound lead inside five minutes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
jobs_app = typer.Typer(help="Inspect and retry jobs.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for integrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(jobs_app, name="jobs")
app.add_typer(apikey_app, name="apikey")
user_app = typer.Typer(help="People who log in to the dashboard.", no_args_is_help=True)
app.add_typer(user_app, name="user")
icp_app = typer.Typer(
    help="Learn and evaluate the ICP from past leads.", no_args_is_help=True
)
app.add_typer(icp_app, name="icp")
contacts_app = typer.Typer(
    help="Contacts flagged for review; merge and undo.", no_args_is_help=True
)
app.add_typer(contacts_app, name="contacts")

STARTER = Path(__file__).parent / "workspace" / "starter"

# Exit codes, one per kind of failure, so scripts can tell them apart.
EXIT_INVALID_WORKSPACE = 2
EXIT_FAILED = 1


def _settings(
    workspace: Path | None = None, database_url: str | None = None
) -> Settings:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    changes: dict[str, object] = {}
    if workspace is not None:
        changes["workspace_path"] = workspace
    if database_url is not None:
        changes["database_url"] = database_url
    return settings.with_overrides(**changes) if changes else settings


def _fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace file or folder "
        "(env FIRSTTOUCH_WORKSPACE; default examples/workspace)",
    ),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="(env FIRSTTOUCH_DATABASE_URL; default sqlite:///var/firsttouch.db)",
    ),
]


@app.command()
def init(directory: Path) -> None:
    """Write a starter workspace into DIRECTORY."""
    target = directory / "firsttouch.yaml"
    if target.exists():
        raise _fail(f"{target} already exists; choose an empty folder")
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STARTER, directory, dirs_exist_ok=True)
    typer.echo(
        f"wrote a starter workspace to {directory}/; edit firsttouch.yaml, then "
        f"run `firsttouch check {directory}`"
    )


@app.command()
def check(path: Path) -> None:
    """Validate the workspace at PATH and say what is wrong, line by line."""
    from firsttouch.respond.template_check import check_templates
    from firsttouch.workspace import load_workspace

    try:
        workspace = load_workspace(path)
    except WorkspaceError as exc:
        for problem in exc.problems or []:
            typer.secho(str(problem), fg=typer.colors.RED, err=True)
        if not exc.problems:
            typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_INVALID_WORKSPACE) from None

    # Loading parses each template; only a render shows a value no lead has.
    problems = check_templates(workspace)
    for problem in problems:
        typer.secho(str(problem), fg=typer.colors.RED, err=True)
    if problems:
        raise typer.Exit(EXIT_INVALID_WORKSPACE)
    typer.echo(
        f"ok: {workspace.company.name}, {len(workspace.team.reps)} reps, "
        f"{len(workspace.icp.criteria)} ICP criteria, {len(workspace.sequences)} "
        f"sequences, {len(workspace.templates)} templates"
    )


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOpt = None) -> None:
    """Create or migrate the database schema to the current version."""
    from firsttouch.store import migrate

    settings = _settings(database_url=database_url)
    from firsttouch.store.db import make_engine

    engine = make_engine(settings.database_url)
    before = migrate.current_heads(engine)
    newer = migrate.newer_schema(engine, settings.database_url)
    engine.dispose()
    if newer is not None:
        raise _fail(newer)
    migrate.upgrade(settings.database_url)
    if before == migrate.expected_heads(settings.database_url):
        typer.echo("database is current; nothing to do")
    elif not before:
        typer.echo("database created at the current schema")
    else:
        typer.echo("database upgraded to the current schema")


def _runtime(workspace: Path | None, database_url: str | None):  # type: ignore[no-untyped-def]
    from firsttouch.runtime import build_runtime

    settings = _settings(workspace, database_url)
    try:
        return build_runtime(settings)
    except WorkspaceError as exc:
        for problem in exc.problems:
            typer.secho(str(problem), fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_INVALID_WORKSPACE) from None


def _require_renderable_templates(runtime) -> None:  # type: ignore[no-untyped-def]
    """Refuse to start on templates that cannot be rendered (as ``check``).

    Such a workspace loads, and then blocks every first touch it is used
    for while the server looks healthy: the buyer is never answered.
    """
    from firsttouch.respond.template_check import check_templates

    problems = check_templates(runtime.workspace)
    for problem in problems:
        typer.secho(str(problem), fg=typer.colors.RED, err=True)
    if problems:
        typer.secho(
            "not starting: these templates cannot be rendered, so the leads "
            "they answer would never be answered; fix them (`firsttouch check` "
            "lists them again)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(EXIT_INVALID_WORKSPACE)


def _require_current_schema(runtime) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.store import migrate

    problem = migrate.schema_problem(runtime.db.engine, runtime.db.url)
    if problem is not None:
        raise _fail(problem)


# Worker threads of `serve` and of `worker`; together they claim about
# WORKER_BATCH jobs a round, so several threads share a burst instead of one
# taking it all. A thread spends most of a first touch waiting (on the mail
# server's four replies, on the SQLite writer lock, on the fsync of its
# record) while leads queue behind it; others do their work in those waits.
# Four by default, measured with bench/bench_first_touch.py on two cores once
# a lead's turns on the writer lock were short (store.prepared): 200 leads/s
# held for 30 s, p99 713 ms with two threads, 364 ms with three, 128-256 ms
# with four, 239 ms with six; CPU per lead the same (4.8-4.9 ms). While the
# lock was the limit (before), more threads only added switching.
DEFAULT_WORKER_THREADS = 4
WORKER_BATCH = 20
# How long a stopping serve waits for its workers to finish the job in hand.
WORKER_STOP_SECONDS = 20


@app.command()
def serve(
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    host: Annotated[str | None, typer.Option(help="(env FIRSTTOUCH_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="(env FIRSTTOUCH_PORT)")] = None,
    no_worker: Annotated[
        bool,
        typer.Option("--no-worker", help="Serve HTTP only; run workers elsewhere."),
    ] = False,
    smtp: Annotated[
        str | None,
        typer.Option(help="Also accept inbound mail over SMTP on HOST:PORT."),
    ] = None,
    web_processes: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            envvar="FIRSTTOUCH_WEB_PROCESSES",
            help="Processes serving HTTP on the one port (one per core takes "
            "the most webhooks a second).",
        ),
    ] = 1,
    worker_threads: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            envvar="FIRSTTOUCH_WORKER_THREADS",
            help="Worker threads in this process (with the worker on); several "
            "overlap one's waits on mail servers and disk with the others' work.",
        ),
    ] = DEFAULT_WORKER_THREADS,
    shared_port: Annotated[
        bool,
        typer.Option("--shared-port", hidden=True, help="Join a port already served."),
    ] = False,
) -> None:
    """Run the web app, and a worker in the same process unless --no-worker."""
    runtime = _runtime(workspace, database_url)
    if host or port:
        runtime.settings = served_at(runtime.settings, host, port)
    if shared_port:
        _serve_shared(runtime)
        return
    metrics_folder = _share_metrics() if web_processes > 1 else None
    if web_processes > 1 and runtime.settings.rate_limit_file is None:
        runtime.settings = _share_rate_limits(runtime.settings)
    _serve(
        runtime,
        no_worker=no_worker,
        smtp=smtp,
        web_processes=web_processes,
        worker_threads=worker_threads,
        scratch=metrics_folder,
    )


def served_at(settings: Settings, host: str | None, port: int | None) -> Settings:
    """``settings`` for serving on ``host``/``port`` given on the command line.

    Unless FIRSTTOUCH_PUBLIC_URL says otherwise, links in emails and the
    form snippet name the address actually served.
    """
    host, port = host or settings.host, port or settings.port
    return settings.with_overrides(
        host=host, port=port, public_url=public_url_of(settings.env, host, port)
    )


def _start_imap_polling(runtime) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.capture.handlers import schedule_imap_polling

    if schedule_imap_polling(runtime):
        typer.echo(
            "polling the IMAP mailbox named by IMAP_HOST (every IMAP_POLL_SECONDS, "
            "default 60)"
        )


def _start_lead_polling(runtime) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.capture.polling import schedule_lead_polling

    try:
        targets = schedule_lead_polling(runtime)
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    if targets:
        names = ", ".join(target.label for target in targets)
        typer.echo(
            f"polling lead ads as well as their webhooks: {names} (every "
            "LEAD_ADS_POLL_SECONDS, default 300)"
        )


def _require_free_port(host: str, port: int) -> None:
    """Say so before anything starts when the web port is taken."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise _fail(
                f"cannot serve on {host}:{port}: {exc.strerror or exc}; is firsttouch "
                "already running? Choose another port with --port or FIRSTTOUCH_PORT"
            ) from None


def serving_banner(settings: Settings) -> str:
    """The line ``serve`` starts with: where to open the dashboard."""
    banner = f"firsttouch is serving: dashboard at {settings.link('/')}"
    listening = local_url(settings.host, settings.port)
    if listening != settings.public_url:
        # Behind a proxy the public address is the one to open; the
        # listener's own is what the proxy must reach.
        banner += f" (listening on {listening}/)"
    return banner + "  (API docs at /docs)"


def _serve(  # type: ignore[no-untyped-def]
    runtime,
    *,
    no_worker: bool,
    smtp: str | None,
    web_processes: int = 1,
    worker_threads: int = DEFAULT_WORKER_THREADS,
    scratch: str | None = None,
) -> None:
    """Serve ``runtime``: web app, optional worker thread and SMTP listener."""
    from firsttouch.web.accounts import ensure_first_admin
    from firsttouch.web.listeners import bind, helper_processes

    _require_current_schema(runtime)
    _require_renderable_templates(runtime)
    settings = runtime.settings
    _require_free_port(settings.host, settings.port)
    try:
        listener = bind(settings.host, settings.port, shared=web_processes > 1)
    except OSError as exc:
        raise _fail(f"cannot serve on {settings.host}:{settings.port}: {exc}") from None

    workers: list[Worker] = []
    threads: list[threading.Thread] = []
    if not no_worker:
        workers, threads = _start_workers(runtime, worker_threads, WORKER_BATCH)

    smtp_server = None
    if smtp:
        from firsttouch.capture.smtp_listener import start_smtp_listener

        smtp_server = start_smtp_listener(runtime, smtp)

    typer.secho(serving_banner(settings), fg=typer.colors.GREEN)
    typer.echo(ensure_first_admin(runtime.db, settings.env, runtime.clock))

    stopped: list[bool] = []

    def stop_the_rest() -> None:
        if stopped:
            return
        stopped.append(True)
        _stop_workers(workers, threads)
        if smtp_server:
            smtp_server.stop()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)

    try:
        with helper_processes(settings, web_processes - 1):
            _run_web(runtime, listener, on_shutdown=stop_the_rest)
    finally:
        stop_the_rest()


def _share_metrics() -> str | None:
    """Have every web process count into one folder that /metrics adds up.

    Set before prometheus_client is first imported (it chooses how to keep
    values then), and inherited by the extra processes. A fresh folder per
    run, so no earlier run's counts are added in; returns it when made here.
    """
    import tempfile

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    folder = tempfile.mkdtemp(prefix="firsttouch-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


def _share_rate_limits(settings: Settings) -> Settings:
    """Have every web process count form rate limits in one file.

    Beside the SQLite file when there is one (it outlives restarts, so a
    restart does not reset a sender's minute), else in the temp folder,
    named for the port. Passed to the extra processes in the environment.
    """
    import tempfile

    from sqlalchemy.engine import make_url

    database = make_url(settings.database_url)
    if database.get_backend_name() == "sqlite" and database.database:
        folder = Path(database.database).resolve().parent
    else:
        folder = Path(tempfile.gettempdir())
    path = folder / f"firsttouch-rate-limits-{settings.port}.bin"
    os.environ["FIRSTTOUCH_RATE_LIMIT_FILE"] = str(path)
    return settings.with_overrides(rate_limit_file=path)


def _serve_shared(runtime) -> None:  # type: ignore[no-untyped-def]
    """One of the extra web processes of ``serve --web-processes``."""
    from firsttouch.web.listeners import bind

    settings = runtime.settings
    try:
        listener = bind(settings.host, settings.port, shared=True)
    except OSError as exc:
        raise _fail(f"cannot join {settings.host}:{settings.port}: {exc}") from None
    _run_web(runtime, listener)


def _run_web(runtime, listener, on_shutdown=None) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from firsttouch.web import create_app

    app = create_app(runtime)
    if on_shutdown is not None:
        # Run by the app's shutdown, before uvicorn hands a caught SIGTERM
        # back to the process (which then ends without running our finally).
        app.state.shutdown_hooks.append(on_shutdown)
    config = uvicorn.Config(
        app,
        host=runtime.settings.host,
        port=runtime.settings.port,
        log_config=None,
        access_log=False,
    )
    uvicorn.Server(config).run(sockets=[listener])


@app.command()
def worker(
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    batch: Annotated[
        int, typer.Option(min=1, help="Jobs claimed per round, by all threads.")
    ] = WORKER_BATCH,
    threads: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            envvar="FIRSTTOUCH_WORKER_THREADS",
            help="Worker threads in this process; several overlap one's waits "
            "on mail servers and the database with the others' work.",
        ),
    ] = DEFAULT_WORKER_THREADS,
) -> None:
    """Run a worker process (scale out: as many as you like, on any machine)."""
    import signal

    runtime = _runtime(workspace, database_url)
    _require_current_schema(runtime)
    _require_renderable_templates(runtime)
    workers, running = _start_workers(runtime, threads, batch)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    # The main thread only waits: signals reach it, and it stops the threads.
    while not stopping.wait(timeout=1.0) and any(t.is_alive() for t in running):
        pass
    _stop_workers(workers, running)


def _start_workers(
    runtime: Runtime, count: int, batch: int
) -> tuple[list[Worker], list[threading.Thread]]:
    """Start ``count`` worker threads, and the mailbox and lead-source pollers."""
    from firsttouch.worker import build_worker

    # Small claims spread a burst over the threads.
    each = max(1, batch // count)
    workers = [build_worker(runtime, batch=each) for _ in range(count)]
    _start_imap_polling(runtime)
    _start_lead_polling(runtime)
    threads = [
        threading.Thread(
            target=worker.run_forever, name=f"worker-{number}", daemon=True
        )
        for number, worker in enumerate(workers, 1)
    ]
    for thread in threads:
        thread.start()
    return workers, threads


def _stop_workers(workers: list[Worker], threads: list[threading.Thread]) -> None:
    for job_worker in workers:
        job_worker.stop()
    # Let each finish the job in hand and record it, so nothing is left
    # marked running until its lease runs out.
    for thread in threads:
        thread.join(timeout=WORKER_STOP_SECONDS)


@app.command()
def demo(
    workspace: WorkspaceOpt = None,
    database_url: Annotated[
        str, typer.Option("--database-url", help="SQLite file the demo recreates.")
    ] = "sqlite:///var/demo.db",
    corpus: Annotated[
        Path,
        typer.Option(
            help="Shared corpus with the real lead data set; stand-ins without it."
        ),
    ] = Path("../shared/corpus"),
    leads: Annotated[
        int, typer.Option(min=1, max=9240, help="Leads in the week.")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Same seed, same week, same figures.")] = 7,
    speed: Annotated[
        float,
        typer.Option(
            min=0,
            help="Virtual seconds per real second while waiting; "
            "0 = as fast as possible.",
        ),
    ] = 0.0,
    report_json: Annotated[
        Path, typer.Option("--json", help="Where to write the figures as JSON.")
    ] = Path("var/demo-report.json"),
    serve_after: Annotated[
        bool,
        typer.Option(
            "--serve", help="Then serve the dashboard on the demo's database."
        ),
    ] = False,
) -> None:
    """Replay a week of real-shaped inbound through every layer and report it."""
    from rich.progress import Progress

    from firsttouch.demo.report import render_text
    from firsttouch.demo.run import DemoOptions, run_demo, save_report

    settings = _settings(workspace, database_url)
    configure_logging(settings.log_format, "WARNING")
    options = DemoOptions(
        settings=settings, corpus=corpus, leads=leads, seed=seed, speed=speed
    )
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task("replaying the week", total=None)
            report = run_demo(
                options,
                progress=lambda done, total: bar.update(
                    task, completed=done, total=total
                ),
            )
    except WorkspaceError as exc:
        for problem in exc.problems:
            typer.secho(str(problem), fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_INVALID_WORKSPACE) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None

    typer.echo(render_text(report))
    save_report(report, report_json)
    typer.echo(f"\nfigures saved to {report_json}")
    if serve_after:
        _serve_demo(settings, report)
    else:
        typer.echo(
            f"see it in the dashboard: firsttouch serve --no-worker "
            f"--database-url {database_url}"
        )


def _serve_demo(settings: Settings, report) -> None:  # type: ignore[no-untyped-def]
    """Serve the dashboard on the demo's database, on the demo's Monday morning."""
    from firsttouch.demo.run import demo_login, demo_runtime

    runtime = demo_runtime(settings, report)
    email, password = demo_login(runtime)
    typer.secho(
        f"log in as {email} with password {password} (a demo manager; "
        f"this password is made for this run only)",
        fg=typer.colors.GREEN,
    )
    _serve(runtime, no_worker=False, smtp=None)


@jobs_app.command("list")
def jobs_list(
    dead: Annotated[bool, typer.Option("--dead", help="Only dead jobs.")] = False,
    state: Annotated[str | None, typer.Option(help="Only jobs in this state.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=10_000, help="How many jobs, newest first.")
    ] = 50,
    database_url: DatabaseOpt = None,
) -> None:
    """List jobs, newest first, with their last error."""
    from firsttouch.jobs.queue import JobQueue
    from firsttouch.store.db import Database

    settings = _settings(database_url=database_url)
    queue = JobQueue(Database(settings.database_url))
    try:
        rows = queue.list("dead" if dead else state, limit)
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    counts = queue.counts()
    typer.echo("  ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "no jobs")
    for job in rows:
        error = (job.last_error or "").splitlines()[0][:100] if job.last_error else ""
        typer.echo(
            f"{job.id:>8}  {job.state:<8} {job.kind:<28} attempts={job.attempts}"
            f"  due={job.due_at:%Y-%m-%d %H:%M:%S}  {error}"
        )


@jobs_app.command("retry")
def jobs_retry(job_id: int, database_url: DatabaseOpt = None) -> None:
    """Send a dead job back to the queue."""
    from firsttouch.jobs.queue import JobQueue
    from firsttouch.store.db import Database

    settings = _settings(database_url=database_url)
    try:
        JobQueue(Database(settings.database_url)).retry(job_id)
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"job {job_id} is queued again")


@apikey_app.command("create")
def apikey_create(name: str, database_url: DatabaseOpt = None) -> None:
    """Make an API key for integration NAME; it is shown once, stored hashed."""
    from firsttouch import clock
    from firsttouch.store.db import Database
    from firsttouch.web.apikeys import create_api_key

    settings = _settings(database_url=database_url)
    try:
        key = create_api_key(Database(settings.database_url), name, clock.current())
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    typer.echo(key)
    typer.echo("keep it now: firsttouch stores only its hash", err=True)


@apikey_app.command("list")
def apikey_list(database_url: DatabaseOpt = None) -> None:
    """List API keys by name and prefix (never the key)."""
    from firsttouch.store.db import Database
    from firsttouch.web.apikeys import list_api_keys

    settings = _settings(database_url=database_url)
    for key in list_api_keys(Database(settings.database_url)):
        state = "revoked" if key.revoked_at else "live"
        typer.echo(f"{key.prefix}  {key.name:<30} {state}")


@apikey_app.command("revoke")
def apikey_revoke(prefix: str, database_url: DatabaseOpt = None) -> None:
    """Revoke the API key with PREFIX."""
    from firsttouch import clock
    from firsttouch.store.db import Database
    from firsttouch.web.apikeys import revoke_api_key

    settings = _settings(database_url=database_url)
    try:
        revoke_api_key(Database(settings.database_url), prefix, clock.current())
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"revoked {prefix}")


LEAK_SOURCES = ("auto", "hubspot", "salesforce", "pipedrive")


@app.command("leak-score")
def leak_score(
    export: Path,
    source: Annotated[
        str, typer.Option(help="auto, hubspot, salesforce or pipedrive")
    ] = "auto",
    html: Annotated[
        Path | None,
        typer.Option(help="Write a self-contained HTML report, charts beside it."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON.")
    ] = False,
    csv_out: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="Write every score and figure as CSV (formula-safe)."
        ),
    ] = None,
    tz: Annotated[
        str,
        typer.Option(
            "--tz", help="Zone of times written without one, and of business hours."
        ),
    ] = "UTC",
    dayfirst: Annotated[
        bool, typer.Option("--dayfirst", help="Read 03/04/2026 as 3 April.")
    ] = False,
    assume: Annotated[
        list[str] | None,
        typer.Option(
            "--assume", help="Change a setting or estimate input: key=value (repeat)."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Judge ages and waiting as of this ISO time (UTC if no "
            "zone) [default: the latest date in the export]",
        ),
    ] = None,
) -> None:
    """Score where a CRM export's inbound leaks, layer by layer."""
    from datetime import UTC, datetime

    from rich.console import Console

    from firsttouch.insights.command import LeakScoreRun, run_leak_score

    if source not in LEAK_SOURCES:
        raise _fail(f"--source must be one of {', '.join(LEAK_SOURCES)}")
    try:
        moment = datetime.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise _fail(
            f"--as-of {as_of!r} is not an ISO time (2026-03-10T14:00)"
        ) from None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    run = LeakScoreRun(
        export=export,
        source=source,  # type: ignore[arg-type]
        html=html,
        csv=csv_out,
        json=json_out,
        timezone=tz,
        as_of=moment,
        dayfirst=True if dayfirst else None,
        assume=assume or [],
    )
    try:
        run_leak_score(run, Console(), Console(stderr=True))
    except (FirsttouchError, ValueError) as exc:
        raise _fail(str(exc)) from None


@app.command("import")
def import_file(
    file: Path,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="COLUMN=FIELD, repeatable (e.g. 'E-mail Address=email')."
        ),
    ] = None,
    source: Annotated[str, typer.Option(help="Source tag for every row.")] = "import",
    region: Annotated[
        str | None,
        typer.Option(
            help="Default phone region, e.g. GB [workspace routing.default_region]."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row; write nothing.")
    ] = False,
) -> None:
    """Import leads from a CSV: every row or none, with a report per bad row."""
    from rich.progress import Progress

    from firsttouch.capture.importer import import_csv, parse_mapping

    runtime = _runtime(workspace, database_url)
    _require_current_schema(runtime)
    try:
        mapping = parse_mapping(map_ or [])
        with Progress(transient=True) as bar:
            task = bar.add_task(f"importing {file.name}", total=None)
            report = import_csv(
                runtime,
                file,
                mapping=mapping,
                source=source,
                default_region=region,
                dry_run=dry_run,
                progress=lambda done, total: bar.update(
                    task, completed=done, total=total
                ),
            )
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    mapped = ", ".join(f"{c} -> {f}" for c, f in report.mapping.items())
    typer.echo(f"columns: {mapped or '(none mapped)'}")
    if report.unmapped:
        typer.echo(f"kept as extra fields: {', '.join(report.unmapped)}")
    if not report.ok:
        for error in report.errors:
            typer.secho(f"  {file}:{error}", fg=typer.colors.RED, err=True)
        raise _fail(
            f"{len(report.errors)} of {report.rows} rows cannot be imported; "
            "nothing was imported. Fix those rows and run again."
        )
    verb = "would import" if dry_run else "imported"
    typer.echo(
        f"{verb} {report.rows - report.duplicates if dry_run else report.imported}"
        f" leads from {file} ({report.duplicates} already imported)"
    )


# `reconcile` found leads the providers hold and firsttouch does not.
EXIT_LEADS_MISSING = 3


@app.command()
def reconcile(
    since: Annotated[
        str | None,
        typer.Option(
            help="First day, YYYY-MM-DD in UTC (default: 6 days before --until)."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Last day, YYYY-MM-DD in UTC (default: today)."),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Only this source: meta or linkedin.")
    ] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="Capture the missing leads now.")
    ] = False,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Compare, per day, the leads Meta and LinkedIn hold with firsttouch's.

    Exits 3 when leads are missing (and --fix was not given), 1 when a
    source could not be asked: cron it and be told.
    """
    from firsttouch.capture.reconcile import reconcile as run_reconcile
    from firsttouch.capture.reconcile import render

    first, last = _reconcile_days(since, until)
    if source not in (None, "meta", "linkedin"):
        raise _fail(f"--source must be meta or linkedin, not {source!r}")
    runtime = _runtime(workspace, database_url)
    _require_current_schema(runtime)
    try:
        result = run_reconcile(
            runtime,
            first,
            last,
            providers=[source] if source else ("meta", "linkedin"),
            fix=fix,
        )
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    if not result.sources:
        raise _fail(
            "no lead-ad source to reconcile: set META_LEAD_FORMS or "
            "LINKEDIN_AD_ACCOUNTS (see the README's configuration)"
        )
    typer.echo(render(result))
    if result.failed:
        raise typer.Exit(EXIT_FAILED)
    if result.missing and not fix:
        raise typer.Exit(EXIT_LEADS_MISSING)


def _reconcile_days(since: str | None, until: str | None):  # type: ignore[no-untyped-def]
    from datetime import UTC, date, timedelta

    from firsttouch import clock

    def day(value: str, option: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _fail(
                f"{option} must be a date as YYYY-MM-DD, not {value!r}"
            ) from None

    today = clock.now().astimezone(UTC).date()
    last = day(until, "--until") if until else today
    first = day(since, "--since") if since else last - timedelta(days=6)
    if first > last:
        raise _fail(f"--since {first} is after --until {last}")
    return first, last


@app.command()
def preview(
    template: str,
    inbound: Annotated[int, typer.Option("--inbound", help="The inbound's id.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Render a workspace template for a stored inbound; nothing is sent."""
    from firsttouch.respond.preview import preview_template

    runtime = _runtime(workspace, database_url)
    _require_current_schema(runtime)
    try:
        shown = preview_template(runtime, template, inbound)
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    if shown.rendered.subject is not None:
        typer.echo(f"Subject: {shown.rendered.subject}\n")
    typer.echo(shown.rendered.text)
    typer.secho(
        f"\n-- from {shown.owner_id}; as a text: {shown.sms.encoding}, "
        f"{shown.sms.units} units, {shown.sms.segments} segment(s)",
        fg=typer.colors.BLUE,
        err=True,
    )


IcpFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--icp", help="An ICP-only YAML file instead of the workspace's icp section."
    ),
]
OutcomeOpt = Annotated[str, typer.Option(help="The 0/1 outcome column.")]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude", help="A column filled in after contact; never read (repeat)."
    ),
]


@app.command()
def qualify(
    inbound: Annotated[int, typer.Option("--inbound", help="The inbound's id.")],
    rescore: Annotated[
        bool, typer.Option(help="Score again even if this ICP version already did.")
    ] = False,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Enrich, score, brief and route one stored inbound now."""
    from firsttouch.qualify.commands import qualify_now, render_outcome

    runtime = _runtime(workspace, database_url)
    _require_current_schema(runtime)
    try:
        typer.echo(render_outcome(qualify_now(runtime, inbound, rescore=rescore)))
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None


@icp_app.command("learn")
def icp_learn(
    history: Path,
    outcome: OutcomeOpt = "Converted",
    exclude: ExcludeOpt = None,
    icp: IcpFileOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Report which criteria predict conversion in HISTORY and suggest weights."""
    from firsttouch.qualify.commands import load_icp
    from firsttouch.qualify.learning import learn, read_history

    settings = _settings(workspace)
    try:
        profile = load_icp(icp, settings.workspace_path)
        learned = learn(profile, read_history(history, outcome, exclude or []))
        typer.echo(learned.render())
    except WorkspaceError as exc:
        raise _fail(str(exc), EXIT_INVALID_WORKSPACE) from None
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None


@icp_app.command("evaluate")
def icp_evaluate(
    history: Path,
    outcome: OutcomeOpt = "Converted",
    exclude: ExcludeOpt = None,
    icp: IcpFileOpt = None,
    folds: Annotated[int, typer.Option(min=2, max=20)] = 5,
    workspace: WorkspaceOpt = None,
) -> None:
    """Compare the ranking (AUC, top decile) of the ICP, a learned model, a baseline."""
    from firsttouch.qualify.commands import load_icp
    from firsttouch.qualify.learning import evaluate, read_history

    settings = _settings(workspace)
    try:
        profile = load_icp(icp, settings.workspace_path)
        report = evaluate(profile, read_history(history, outcome, exclude or []), folds)
    except WorkspaceError as exc:
        raise _fail(str(exc), EXIT_INVALID_WORKSPACE) from None
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    typer.echo(report.render())


@user_app.command("create")
def user_create(
    email: str,
    role: Annotated[str, typer.Option(help="admin, manager or rep")] = "rep",
    name: Annotated[str | None, typer.Option(help="Shown in the dashboard.")] = None,
    rep_id: Annotated[
        str | None,
        typer.Option(
            "--rep-id", help="The workspace rep this person is (managers and reps)."
        ),
    ] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="FIRSTTOUCH_NEW_USER_PASSWORD",
            help="Asked for when not given.",
        ),
    ] = "",
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Add a person who can log in to the dashboard."""
    from firsttouch import clock
    from firsttouch.store.db import Database
    from firsttouch.web.accounts import create_user
    from firsttouch.workspace import load_workspace

    settings = _settings(workspace, database_url)
    try:
        team = load_workspace(settings.workspace_path).team
    except WorkspaceError as exc:
        raise _fail(str(exc), EXIT_INVALID_WORKSPACE) from None
    try:
        create_user(
            Database(settings.database_url),
            email,
            password,
            name=name,
            role=role,
            rep_id=rep_id,
            reps=[r.id for r in team.reps],
            clock=clock.current(),
        )
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"created {role} {email}; log in at {settings.link('/login')}")


@contacts_app.command("review")
def contacts_review(database_url: DatabaseOpt = None, limit: int = 50) -> None:
    """List contacts flagged for review, with the reason."""
    from firsttouch.capture.contacts import contacts_needing_review
    from firsttouch.logs import mask_email, mask_phone
    from firsttouch.store.db import Database

    db = Database(_settings(database_url=database_url).database_url)
    with db.sessions() as session:
        flagged = contacts_needing_review(session, limit)
        for c in flagged:
            typer.echo(
                f"{c.id}\t{mask_email(c.email)}\t{mask_phone(c.phone_e164)}\t"
                f"{c.review_reason}"
            )
    if not flagged:
        typer.echo("no contacts need review")


@contacts_app.command("merge")
def contacts_merge(
    survivor: int,
    merged: int,
    reason: Annotated[str, typer.Option(help="Why they are one person.")],
    database_url: DatabaseOpt = None,
) -> None:
    """Merge contact MERGED into SURVIVOR; every record moves; undoable."""
    from firsttouch import clock
    from firsttouch.capture.contacts import merge_contacts
    from firsttouch.store.db import Database

    db = Database(_settings(database_url=database_url).database_url)
    try:
        with db.transaction() as session:
            record = merge_contacts(
                session, survivor, merged, actor="cli", reason=reason, now=clock.now()
            )
            merge_id = record.id
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"merged {merged} into {survivor} (merge {merge_id}; undo with "
        f"`firsttouch contacts undo-merge {merge_id}`)"
    )


@contacts_app.command("undo-merge")
def contacts_undo_merge(merge_id: int, database_url: DatabaseOpt = None) -> None:
    """Undo merge MERGE_ID: both contacts and their records as they were."""
    from firsttouch import clock
    from firsttouch.capture.contacts import undo_merge
    from firsttouch.store.db import Database

    db = Database(_settings(database_url=database_url).database_url)
    try:
        with db.transaction() as session:
            undo_merge(session, merge_id, now=clock.now())
    except FirsttouchError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"undid merge {merge_id}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except FirsttouchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(EXIT_FAILED)


@app.command("import-typeform")
def import_typeform(
    file: Path, workspace: WorkspaceOpt = None, database_url: DatabaseOpt = None
) -> None:
    """Import a saved page of Typeform's Responses API (the webhook's misses)."""
    from firsttouch.capture.typeform_import import import_responses

    runtime = _runtime(workspace, database_url)
    _require_current_schema(runtime)
    try:
        result = import_responses(runtime, file.read_bytes())
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    except FirsttouchError as exc:
        raise _fail(f"{file}: {exc}; nothing was imported") from None
    typer.echo(
        f"imported {result.leads} leads from {file}; recorded {result.recorded} "
        f"without an email or phone; {result.duplicates} already stored"
    )
