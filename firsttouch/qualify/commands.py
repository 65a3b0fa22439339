"""What the ``firsttouch qualify`` and ``firsttouch icp`` commands do.

The CLI parses options and prints; these functions load, run and return
values, raising ``FirsttouchError`` subclasses with messages fit to show.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from firsttouch.errors import NotFoundError, WorkspaceError, WorkspaceProblem
from firsttouch.qualify.handlers import build_llm, build_providers
from firsttouch.qualify.qualification import Outcome, qualify_inbound
from firsttouch.runtime import Runtime
from firsttouch.workspace import load_workspace
from firsttouch.workspace.icp import Icp


def load_icp(icp_file: Path | None, workspace_path: Path) -> Icp:
    """The ICP from an ICP-only YAML file, else from the workspace."""
    if icp_file is None:
        return load_workspace(workspace_path).icp
    try:
        data = yaml.safe_load(icp_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problem = WorkspaceProblem(str(icp_file), None, "(file)", str(exc))
        raise WorkspaceError(str(problem), [problem]) from exc
    if isinstance(data, dict) and "icp" in data and "version" not in data:
        data = data["icp"]
    try:
        return Icp.model_validate(data)
    except ValidationError as exc:
        problems = [
            WorkspaceProblem(
                str(icp_file),
                None,
                ".".join(str(p) for p in err["loc"]) or "(top level)",
                err["msg"].removeprefix("Value error, "),
            )
            for err in exc.errors()
        ]
        raise WorkspaceError(
            "invalid ICP: " + "; ".join(str(p) for p in problems[:5]), problems
        ) from None


def qualify_now(runtime: Runtime, inbound_id: int, *, rescore: bool) -> Outcome:
    """Qualify one stored inbound in this process, as the worker would."""
    outcome = qualify_inbound(
        runtime.db,
        runtime.workspace,
        inbound_id,
        providers=build_providers(runtime),
        llm=build_llm(runtime),
        now=runtime.clock.now(),
        rescore=rescore,
    )
    if outcome is None:
        raise NotFoundError(f"no inbound {inbound_id}; see `firsttouch jobs list`")
    return outcome


def render_outcome(outcome: Outcome) -> str:
    """The score, each criterion's points and the brief, for a terminal."""
    score = outcome.score
    lines = [
        f"score {score.total}/100  route {score.route}  intent {score.intent}"
        f"  icp {score.icp_version}"
        + ("" if outcome.created else "  (already qualified; --rescore to redo)")
    ]
    for c in score.criteria:
        lines.append(f"  {c.points:+4d}  {c.name}: {c.reason}")
    if score.disqualified_reason:
        lines.append(f"  disqualified: {score.disqualified_reason}")
    lines += ["", outcome.brief]
    return "\n".join(lines)
