"""Read a workspace from disk and validate it, with errors that point at lines.

A workspace is either one YAML file or a folder holding ``firsttouch.yaml``
and a ``templates/`` folder whose files become ``templates[name]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import ValidationError

from firsttouch.errors import WorkspaceError, WorkspaceProblem
from firsttouch.workspace.respond import DEFAULT_TEMPLATES
from firsttouch.workspace.schema import Workspace

MAIN_FILE = "firsttouch.yaml"
TEMPLATE_SUFFIXES = (".j2", ".txt", ".html", ".md")

LineMap = dict[tuple[str | int, ...], int]


def _line_map(node: yaml.Node, path: tuple[str | int, ...], out: LineMap) -> None:
    # Walk the composed YAML so each field path knows its 1-based line.
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_map(value_node, path + (key,), out)
            out[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, path + (index,), out)


def _nearest_line(lines: LineMap, loc: tuple[str | int, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        line = lines.get(tuple(loc[:end]))
        if line is not None:
            return line
    return None


def _field_name(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def _read_yaml(path: Path) -> tuple[dict[str, Any], LineMap]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkspaceError(
            f"cannot read workspace file {path}: {exc.strerror}",
            [WorkspaceProblem(str(path), None, "(file)", str(exc.strerror))],
        ) from exc

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = WorkspaceProblem(
            str(path),
            line,
            "(syntax)",
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
        )
        raise WorkspaceError(str(problem), [problem]) from exc

    if not isinstance(data, dict) or node is None:
        problem = WorkspaceProblem(
            str(path),
            1,
            "(top level)",
            "expected a mapping of sections (team:, icp:, ...)",
        )
        raise WorkspaceError(str(problem), [problem])

    lines: LineMap = {}
    _line_map(node, (), lines)
    return data, lines


def _read_templates(folder: Path) -> dict[str, str]:
    templates: dict[str, str] = {}
    if not folder.is_dir():
        return templates
    for file in sorted(folder.rglob("*")):
        if file.is_file() and file.suffix in TEMPLATE_SUFFIXES:
            name = file.relative_to(folder).with_suffix("").as_posix()
            templates[name] = file.read_text(encoding="utf-8")
    return templates


def load_workspace(path: str | Path) -> Workspace:
    """Load and validate the workspace at ``path`` (a file or a folder)."""
    path = Path(path)
    main = path / MAIN_FILE if path.is_dir() else path
    if not main.exists():
        problem = WorkspaceProblem(
            str(main), None, "(file)", "no workspace here; run `firsttouch init DIR`"
        )
        raise WorkspaceError(str(problem), [problem])

    data, lines = _read_yaml(main)

    # Templates in the folder fill in; ones written inline in the YAML win.
    folder_templates = _read_templates(main.parent / "templates")
    inline = data.get("templates") or {}
    if isinstance(inline, dict):
        data["templates"] = {**folder_templates, **inline}

    try:
        workspace = Workspace.model_validate(data)
    except ValidationError as exc:
        problems = [
            WorkspaceProblem(
                str(main),
                _nearest_line(lines, tuple(err["loc"])),
                _field_name(tuple(err["loc"])),
                _plain_message(err),
            )
            for err in exc.errors()
        ]
        summary = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise WorkspaceError(f"invalid workspace: {summary}{more}", problems) from None

    problems = _template_problems(workspace, main, lines)
    if problems:
        summary = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise WorkspaceError(f"invalid workspace: {summary}{more}", problems)

    return workspace.model_copy(update={"source_path": main})


def _plain_message(err: Any) -> str:
    """Say a validation error in the words of someone editing YAML."""
    kind = err.get("type", "")
    loc = tuple(err.get("loc", ()))
    if kind == "extra_forbidden" and loc:
        return f"unknown key {loc[-1]!r}; check its spelling, or remove it"
    if kind == "missing":
        return "required here; add it"
    if kind in ("model_type", "dict_type") and err.get("input") is None:
        return "expected a section of 'key: value' lines here, found nothing"
    if kind in ("model_type", "dict_type"):
        return "expected a section of 'key: value' lines here"
    if kind == "list_type":
        return "expected a list here ('- item' lines, or [a, b])"
    return str(err["msg"]).removeprefix("Value error, ")


def template_file(main: Path, name: str) -> Path:
    """Return the file template ``name`` was read from, or the workspace file."""
    folder = main.parent / "templates"
    for suffix in TEMPLATE_SUFFIXES:
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return main


def _template_problems(
    workspace: Workspace, main: Path, lines: LineMap
) -> list[WorkspaceProblem]:
    """Templates that would fail at send time: bad syntax, or named but missing.

    Caught here, a typo stops ``firsttouch check`` and start-up with the file
    and line; left alone it would only block sends, one warning at a time.
    """
    problems = []
    environment = SandboxedEnvironment()
    for name, source in sorted(workspace.templates.items()):
        try:
            environment.parse(source)
        except TemplateSyntaxError as exc:
            problems.append(
                WorkspaceProblem(
                    str(template_file(main, name)),
                    exc.lineno,
                    f"templates.{name}",
                    f"template syntax: {exc.message}",
                )
            )

    for loc, name in _named_templates(workspace):
        if name not in workspace.templates:
            known = ", ".join(sorted(workspace.templates)) or "none"
            problems.append(
                WorkspaceProblem(
                    str(main),
                    _nearest_line(lines, loc),
                    _field_name(loc),
                    f"no template named {name!r} (templates/{name}.j2); known: {known}",
                )
            )
    return problems


def _named_templates(workspace: Workspace) -> list[tuple[tuple[str | int, ...], str]]:
    """Every (location, template name) the workspace will render."""
    named: list[tuple[tuple[str | int, ...], str]] = []
    for i, policy in enumerate(workspace.respond.policies):
        for action in policy.actions:
            name = policy.templates.get(action) or DEFAULT_TEMPLATES.get(action)
            if name:
                where = "templates" if action in policy.templates else "actions"
                named.append((("respond", "policies", i, where), name))
    for i, sequence in enumerate(workspace.sequences):
        for j, step in enumerate(sequence.steps):
            if step.template:
                named.append((("sequences", i, "steps", j, "template"), step.template))
    return named
