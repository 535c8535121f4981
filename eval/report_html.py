"""The HTML report: one self-contained file (inline CSS, plots as data: URIs, no script).

Rendered with Jinja2 with autoescape on, so every piece of article text, title or
model output is HTML-escaped wherever it appears; the page also carries a
Content-Security-Policy that forbids scripts and remote loads as a second line
of defence.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

_TEMPLATES = resources.files("eval") / "templates"


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (_TEMPLATES / name).read_text(encoding="utf-8")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_html(view: dict[str, Any]) -> str:
    css = (_TEMPLATES / "report.css").read_text(encoding="utf-8")
    # The stylesheet is ours, not article text: it is the one thing not escaped.
    return _environment().get_template("report.html.j2").render(v=view, css=Markup(css))
