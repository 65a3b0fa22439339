"""Render workspace templates in a sandbox, with fallbacks for missing fields.

Templates come from the workspace (trusted authors), values from leads
(untrusted). Lead text is only ever a value: it is never compiled, so
``{{ ... }}`` typed into a form prints as typed. The sandbox keeps a
template from reaching Python internals, and ``ImmutableSandboxedEnvironment``
keeps it from mutating the values it is given.

A field that is missing prints its fallback (``first_name`` -> "there"); a
field with no fallback stops the render with ``TemplateError`` rather than
printing a blank. A rendered text is checked once more for the marks of a
broken merge ("Hi ,", "{first_name}") before anything is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import escape

from firsttouch.errors import FirsttouchError

SUBJECT_LINE = re.compile(r"^\s*\{#\s*subject:\s*(?P<subject>.*?)\s*#\}[ \t]*\n?")
BROKEN_MERGE = re.compile(
    r"(\{\{|\}\}|\{[a-z_]+\}|\b(?:hi|hello|hey|dear)\s+[,.!]|\bNone\b)", re.IGNORECASE
)
URL = re.compile(r"https?://[^\s<>\"']+")

# What a missing field prints instead of nothing.
FALLBACKS = {
    "first_name": "there",
    "name": "there",
    "company": "your team",
    "topic": "your enquiry",
    "title": "",
    "booking_url": "",
}


class TemplateError(FirsttouchError):
    """A template cannot be rendered into a message fit to send.

    ``line`` is the template file's line that failed, when Jinja knows it.
    """

    code = "template_invalid"
    status = 400

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class FallbackUndefined(ChainableUndefined):
    """Prints a known field's fallback; printing any other missing field fails.

    Tests (``{% if route == "rep_now" %}``) and ``default`` still see it as
    missing, so a template can branch on a field a lead did not give.
    """

    def __str__(self) -> str:
        name = self._undefined_name
        if name is not None and name in FALLBACKS:
            return FALLBACKS[name]
        self._fail_with_undefined_error()
        return ""


@dataclass(frozen=True)
class Rendered:
    """A rendered message: subject (email only), plain text, and HTML."""

    template: str
    subject: str | None
    text: str
    html: str


_env = ImmutableSandboxedEnvironment(
    undefined=FallbackUndefined,
    autoescape=False,
    keep_trailing_newline=False,
    trim_blocks=False,
)


# Workspace templates are few and rendered often: compile each source once.
_compile = lru_cache(maxsize=512)(_env.from_string)


def _clean(values: Any) -> Any:
    # Empty strings and None become missing, so defaults and fallbacks apply.
    if isinstance(values, dict):
        return {k: _clean(v) for k, v in values.items() if v not in (None, "")}
    return values


def render_text(source: str, context: dict[str, Any], first_line: int = 1) -> str:
    """Render one template string with ``context``; raise ``TemplateError``.

    ``first_line`` is the file line ``source`` starts on, so the error's
    line is the file's.
    """
    try:
        return _compile(source).render(_clean(context)).strip()
    except (UndefinedError, SecurityError, TemplateSyntaxError) as exc:
        line = _failed_line(exc)
        raise TemplateError(
            f"template cannot be rendered: {exc}",
            line + first_line - 1 if line is not None else None,
        ) from exc
    except Exception as exc:  # noqa: BLE001 - any fault of the template's own code
        # A filter given the wrong arguments, a division by zero: the
        # template's fault too, to be named with its line, not a crash.
        line = _failed_line(exc)
        raise TemplateError(
            f"template cannot be rendered: {type(exc).__name__}: {exc}",
            line + first_line - 1 if line is not None else None,
        ) from exc


def _failed_line(exc: Exception) -> int | None:
    # Jinja rewrites a render's traceback so the template's own frames carry
    # the template line; a syntax error carries it itself.
    if isinstance(exc, TemplateSyntaxError):
        return exc.lineno
    line = None
    trace = exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def html_from_text(text: str) -> str:
    """Return a safe HTML body for a plain-text body: paragraphs and links."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        parts: list[str] = []
        last = 0
        for match in URL.finditer(block):
            parts.append(str(escape(block[last : match.start()])))
            url = escape(match.group(0))
            parts.append(f'<a href="{url}">{url}</a>')
            last = match.end()
        parts.append(str(escape(block[last:])))
        paragraphs.append("<p>" + "".join(parts).replace("\n", "<br>\n") + "</p>")
    body = "\n".join(paragraphs)
    # Every piece of text in ``body`` went through ``escape`` above.
    return f"<!doctype html>\n<html><body>\n{body}\n</body></html>\n"


def _values(context: Any) -> list[str]:
    if isinstance(context, dict):
        return [v for item in context.values() for v in _values(item)]
    return [context] if isinstance(context, str) and context else []


def check_rendered(name: str, text: str, context: dict[str, Any]) -> None:
    """Refuse a text that shows a broken merge ("Hi ,", "{first_name}").

    The lead's own words are taken out first: a buyer may type braces.
    """
    for value in sorted(_values(context), key=len, reverse=True):
        text = text.replace(value, "\x00")
    match = BROKEN_MERGE.search(text)
    if match:
        raise TemplateError(
            f"template {name!r} rendered a broken merge near {match.group(0)!r}"
        )


def unknown_template(templates: dict[str, str], name: str) -> TemplateError:
    """Return the error for a template name the workspace does not have."""
    known = ", ".join(sorted(templates)) or "none"
    return TemplateError(
        f"the workspace has no template named {name!r}; its templates are: {known}"
    )


def render_template(
    templates: dict[str, str], name: str, context: dict[str, Any]
) -> Rendered:
    """Render workspace template ``name``: subject line, text and HTML parts."""
    source = templates.get(name)
    if source is None:
        raise unknown_template(templates, name)

    subject = None
    first_line = 1
    match = SUBJECT_LINE.match(source)
    if match:
        subject = render_text(match.group("subject"), context)
        first_line += source[: match.end()].count("\n")
        source = source[match.end() :]

    text = render_text(source, context, first_line)
    check_rendered(name, text, context)
    if subject is not None:
        check_rendered(name, subject, context)
    return Rendered(name, subject, text, html_from_text(text))
