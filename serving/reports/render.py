"""Reports as JSON (machines), Markdown and self-contained HTML (people).

:func:`render` takes the dict a report function returned (or its JSON read
back) and a format. The HTML page embeds its charts as base64 PNG and its
style inline: it needs no network and can be mailed as one file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from serving.reports.charts import agenda_charts, attribution_charts
from serving.reports.data import ReportInputError
from serving.reports.templates import TEMPLATES

logger = logging.getLogger(__name__)

FORMATS = ("json", "md", "html")
_EXTENSIONS = {
    ".json": "json",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
}
_KINDS = ("attribution", "cases", "agenda")


def format_for(path: str | Path | None, fmt: str | None) -> str:
    """The format asked for, else the one the output file's extension names."""
    if fmt:
        if fmt not in FORMATS:
            raise ReportInputError(
                f"expected --format as one of {FORMATS}, got {fmt!r}"
            )
        return fmt
    if path is None:
        return "json"
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise ReportInputError(
            f"expected an output file ending in {sorted(_EXTENSIONS)}, got "
            f"{str(path)!r}; rename it or pass --format"
        )
    return _EXTENSIONS[suffix]


def marked(text: str, highlight: dict[str, Any] | None, html: bool) -> str:
    """``text`` with the highlighted span wrapped (<mark> or Markdown bold)."""
    if not highlight:
        return str(escape(text)) if html else text
    start, end = highlight["start"], highlight["end"]
    head, middle, tail = text[:start], text[start:end], text[end:]
    if html:
        return Markup(f"{escape(head)}<mark>{escape(middle)}</mark>{escape(tail)}")
    return f"{head}**{middle.strip()}**{tail}"


def _environment(html: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.DictLoader(TEMPLATES),
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["marked"] = lambda case: marked(
        case["text"], case.get("highlight"), html
    )
    environment.filters["pct"] = lambda x: "–" if x is None else f"{x:.1%}"
    environment.filters["oneline"] = lambda s: " ".join(str(s).split())
    return environment


def render(report: dict[str, Any], fmt: str = "json") -> str:
    """The report as text in ``fmt`` (json, md or html)."""
    kind = report.get("report") if isinstance(report, dict) else None
    if kind not in _KINDS:
        raise ReportInputError(
            f"expected a report dict with 'report' in {_KINDS}, got {kind!r}"
        )
    fmt = format_for(None, fmt)
    if fmt == "json":
        return json.dumps(report, ensure_ascii=False, indent=2, default=str)

    html = fmt == "html"
    charts = _charts(report, kind) if html else {}
    template = _environment(html).get_template(f"{kind}.{fmt}")
    return template.render(r=report, charts=charts)


def _charts(report: dict[str, Any], kind: str) -> dict[str, str]:
    if kind == "attribution":
        return attribution_charts(report)
    if kind == "agenda":
        return agenda_charts(report)
    return {}


def write_report(report: dict[str, Any], path: str | Path | None, fmt: str | None):
    """Render and write to ``path`` (stdout when None); returns the format."""
    import sys

    fmt = format_for(path, fmt)
    text = render(report, fmt)
    if path is None or str(path) == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(path).write_text(text, encoding="utf-8")
        logger.info("wrote %s report to %s", fmt, path)
    return fmt
