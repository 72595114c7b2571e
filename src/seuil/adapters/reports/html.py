"""HTML renderings (Jinja2, autoescaped): the DPIA and a readable subject-access export."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from seuil.services.dpia import DpiaDocument


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("seuil.adapters.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True)
    return env


def render_dpia_html(document: DpiaDocument) -> str:
    return _env().get_template("dpia.html").render(doc=document)


def render_subject_html(export: dict[str, Any]) -> str:
    return _env().get_template("subject.html").render(data=export)
