"""Templates render in a sandbox, with fallbacks, and never as a broken merge."""

from __future__ import annotations

from typing import Any

import pytest

from firsttouch.respond.templates import TemplateError, render_template
from firsttouch.workspace import Workspace


def _context(**contact: Any) -> dict[str, Any]:
    return {
        "contact": contact,
        "owner": {"name": "Maya Chen"},
        "company": {"name": "Northwind Ledger"},
        "topic": None,
        "route": None,
        "booking_url": "https://ft.example/book/t1",
    }


def test_missing_first_name_says_there_not_a_blank(workspace: Workspace) -> None:
    rendered = render_template(
        workspace.templates, "first_touch_email", _context(first_name="", company=None)
    )
    assert rendered.text.startswith("Hi there,")
    assert "teams like yours" in rendered.text
    # Not an answer to an email: no "Re:".
    assert rendered.subject == "Thanks for contacting Northwind Ledger"
    assert '<a href="https://ft.example/book/t1">' in rendered.html


def test_the_lead_s_own_braces_print_as_typed(workspace: Workspace) -> None:
    rendered = render_template(
        workspace.templates, "first_touch_sms", _context(first_name="{{ 7*7 }}")
    )
    assert rendered.text.startswith("Hi {{ 7*7 }}, it's Maya")
    assert "49" not in rendered.text


def test_html_part_escapes_the_lead_s_markup(workspace: Workspace) -> None:
    rendered = render_template(
        workspace.templates, "first_touch_email", _context(first_name="<b>Ann</b>")
    )
    assert "&lt;b&gt;Ann&lt;/b&gt;" in rendered.html
    assert "<b>Ann</b>" not in rendered.html


def test_a_template_cannot_reach_python_internals() -> None:
    source = "{{ owner.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(TemplateError):
        render_template({"t": source}, "t", _context(first_name="Ann"))


def test_a_field_without_fallback_stops_the_render() -> None:
    with pytest.raises(TemplateError, match="last_name"):
        render_template(
            {"t": "Hi {{ contact.last_name }},"}, "t", _context(first_name="Ann")
        )


def test_a_rendered_hi_comma_is_refused() -> None:
    with pytest.raises(TemplateError, match="broken merge"):
        render_template(
            {"t": "Hi {{ contact.first_name | default('') }}, hello"}, "t", _context()
        )


def test_a_greeting_followed_by_a_comma_by_design_is_fine(
    workspace: Workspace,
) -> None:
    rendered = render_template(workspace.templates, "missed_call_sms", _context())
    assert rendered.text.startswith("Hi, this is Northwind Ledger.")


def test_an_unknown_template_is_named_in_the_error() -> None:
    with pytest.raises(TemplateError, match="no_such"):
        render_template({}, "no_such", _context())
