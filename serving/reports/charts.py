"""Charts of the reports as base64 PNG strings (matplotlib, Agg backend).

Charts are drawn from a report's JSON alone, so a saved report can be drawn
again later. Without a CJK font matplotlib would draw Chinese as empty boxes;
then any non-ASCII label is replaced by a short key (``unit 3``) and the
page's tables carry the real names.
"""

from __future__ import annotations

import base64
import io
import logging
from datetime import date
from functools import cache
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

logger = logging.getLogger(__name__)

_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "SimHei")


@cache
def cjk_font() -> str | None:
    """The name of an installed CJK font, or None."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in _CJK_FONTS if name in names), None)
    if found is None:
        logger.warning("no CJK font found; charts label Chinese names by key")
    return found


def chart_label(text: str, key: int) -> str:
    if text.isascii() or cjk_font():
        return text
    return f"unit {key}"


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _style() -> None:
    font = cjk_font()
    if font:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]


def trend_chart(
    series: dict[str, list[dict[str, Any]]],
    title: str,
    change: str | None = None,
    events: list[dict[str, Any]] = (),
    shade: list[dict[str, str]] = (),
) -> str:
    """Weekly rates, one line per series; change point and events as lines."""
    _style()
    figure, axis = plt.subplots(figsize=(7, 3))
    # Baseline lighter than the period, so the two read apart.
    for span, grey in zip(shade, ("0.95", "0.88"), strict=False):
        axis.axvspan(
            date.fromisoformat(span["start"]),
            date.fromisoformat(span["end"]),
            color=grey,
        )
    for key, (name, weekly) in enumerate(series.items()):
        weeks = [date.fromisoformat(w["week"]) for w in weekly]
        axis.plot(
            weeks,
            [w["rate"] for w in weekly],
            marker="o",
            ms=3,
            label=chart_label(name, key),
        )
    if change:
        axis.axvline(
            date.fromisoformat(change), color="crimson", ls="--", label="change point"
        )
    for event in events:
        axis.axvline(date.fromisoformat(event["date"]), color="0.4", ls=":")
    axis.set_ylabel("rate per comment")
    axis.set_title(chart_label(title, 0))
    axis.legend(fontsize=7, loc="upper left")
    figure.autofmt_xdate()
    return _png(figure)


def interval_chart(units: list[dict[str, Any]], pooled: float, title: str) -> str:
    """Shrunk rate with its 95% interval per unit; raw rates as hollow dots."""
    _style()
    units = units[:25]
    figure, axis = plt.subplots(figsize=(7, 0.25 * len(units) + 1.2))
    for row, unit in enumerate(reversed(units)):
        colour = "crimson" if unit["flagged"] else "steelblue"
        axis.plot([unit["low"], unit["high"]], [row, row], color=colour)
        axis.plot(unit["shrunk_rate"], row, "o", color=colour, ms=4)
        axis.plot(unit["rate"], row, "o", mfc="none", color="0.5", ms=4)
    labels = [
        f"{chart_label(u['unit'], i)} (n={u['comments']})"
        for i, u in enumerate(reversed(units))
    ]
    axis.set_yticks(range(len(units)), labels, fontsize=7)
    axis.axvline(pooled, color="0.3", ls="--", lw=1)
    axis.set_xlabel("rate (dot: shrunk with 95% interval; ring: raw)")
    axis.set_title(chart_label(title, 0))
    return _png(figure)


def attribution_charts(report: dict[str, Any]) -> dict[str, str]:
    timeline = report["timeline"]
    change = (timeline["change_point"] or {}).get("date")
    key = f"{report['category']} {report['polarity']}"
    charts = {
        "trend": trend_chart(
            {key: timeline["weekly"]},
            f"weekly rate: {key}",
            change,
            timeline["events"],
            [report["baseline"], report["period"]],
        ),
        "units": interval_chart(
            report["individual"]["units"],
            report["rise"]["rate"],
            f"per {report['by']}: {key}",
        ),
    }
    for field, spread in report["systemic"].items():
        if spread["units"]:
            charts[field] = interval_chart(
                spread["units"], report["rise"]["rate"], f"per {field}: {key}"
            )
    return charts


def agenda_charts(report: dict[str, Any], lines: int = 4) -> dict[str, str]:
    start = report["previous_period"]["start"]
    series = {
        issue["category"]: [
            w for w in issue["attribution"]["weekly"] if w["week"] >= start
        ]
        for issue in report["issues"][:lines]
        if issue.get("attribution")
    }
    if not series:
        return {}
    shade = [report["previous_period"], report["period"]]
    return {"trend": trend_chart(series, "weekly negative rate", shade=shade)}
