"""``check_templates`` renders every workspace template as a send would, for
sample email and SMS leads with and without their optional fields, and names
each failure's template, line and error."""

from __future__ import annotations

import shutil
from pathlib import Path

from firsttouch.respond.template_check import check_templates
from firsttouch.workspace import load_workspace

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workspace"


def _example_with(tmp_path: Path, name: str, source: str) -> Path:
    folder = tmp_path / "ws"
    shutil.copytree(EXAMPLE, folder)
    (folder / "templates" / f"{name}.j2").write_text(source)
    return folder


def test_the_example_workspace_renders_for_every_sample() -> None:
    assert check_templates(load_workspace(EXAMPLE)) == []


def test_a_misspelt_value_names_the_template_file_line_and_error(
    tmp_path: Path,
) -> None:
    template = EXAMPLE / "templates" / "first_touch_email.j2"
    source = template.read_text()
    assert "I'm {{ owner.name }}" in source
    folder = _example_with(
        tmp_path,
        "first_touch_email",
        source.replace("I'm {{ owner.name }}", "I'm {{ owner.nmae }}"),
    )

    problems = check_templates(load_workspace(folder))

    assert len(problems) == 1
    problem = problems[0]
    assert problem.file.endswith("templates/first_touch_email.j2")
    lines = (folder / "templates" / "first_touch_email.j2").read_text().splitlines()
    assert problem.line is not None
    assert "owner.nmae" in lines[problem.line - 1]
    assert problem.field == "templates.first_touch_email"
    assert "has no attribute 'nmae'" in problem.message


def test_a_value_only_some_leads_lack_is_found_with_the_lead_that_lacks_it(
    tmp_path: Path,
) -> None:
    # ``title`` prints "" when missing, so "Hi ," shows only for a lead with
    # no first name: the sample without optional fields must meet it.
    folder = _example_with(
        tmp_path, "greeting", 'Hi {{ contact.first_name | default("", true) }},\n'
    )

    problems = check_templates(load_workspace(folder))

    assert [p.field for p in problems] == ["templates.greeting"]
    assert "broken merge" in problems[0].message
    assert "only" in problems[0].message


def test_a_rep_value_some_reps_lack_is_found(tmp_path: Path) -> None:
    folder = _example_with(tmp_path, "callback", "Call {{ owner.phone }} now.\n")
    main = folder / "firsttouch.yaml"
    text = main.read_text()
    assert '      phone: "+12125550104"\n' in text
    main.write_text(text.replace('      phone: "+12125550104"\n', "", 1))

    problems = check_templates(load_workspace(folder))

    assert [p.field for p in problems] == ["templates.callback"]
    assert "owned by dana" in problems[0].message


def test_a_branch_taken_only_on_one_route_is_rendered(tmp_path: Path) -> None:
    folder = _example_with(
        tmp_path,
        "routed",
        "Hello.\n{% if route == 'nurture' %}\n{{ owner.nickname }}\n{% endif %}\n",
    )

    problems = check_templates(load_workspace(folder))

    assert [(p.field, p.line) for p in problems] == [("templates.routed", 3)]
    assert "route nurture" in problems[0].message


def test_the_sandbox_refuses_what_a_send_refuses(tmp_path: Path) -> None:
    folder = _example_with(tmp_path, "probe", "{{ ''.__class__.__mro__ }}\n")

    problems = check_templates(load_workspace(folder))

    assert [p.field for p in problems] == ["templates.probe"]
    assert "unsafe" in problems[0].message


def test_an_error_after_the_subject_line_counts_the_subject_line(
    tmp_path: Path,
) -> None:
    folder = _example_with(
        tmp_path, "subjected", "{# subject: Hello #}\nline two\n{{ missing }}\n"
    )

    problems = check_templates(load_workspace(folder))

    assert [(p.field, p.line) for p in problems] == [("templates.subjected", 3)]


def test_a_filter_misused_or_a_division_by_zero_is_named_not_a_crash(
    tmp_path: Path,
) -> None:
    source = (EXAMPLE / "templates" / "first_touch_email.j2").read_text()
    folder = _example_with(
        tmp_path,
        "first_touch_email",
        source + '\n{{ "x" | upper(1) }}\n{{ 1 // 0 }}\n',
    )

    problems = check_templates(load_workspace(folder))

    assert len(problems) == 1
    problem = problems[0]
    assert problem.file.endswith("templates/first_touch_email.j2")
    assert "TypeError" in problem.message
    lines = (folder / "templates" / "first_touch_email.j2").read_text().splitlines()
    assert problem.line is not None and "upper(1)" in lines[problem.line - 1]
