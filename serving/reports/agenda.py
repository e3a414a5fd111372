"""Retrospective agenda: what to discuss, what to praise, what came of last time.

:func:`retro_agenda` reads one period against the previous period of equal
length and lists, per category:

- **volume**: comments with the category negative in the period, and their
  rate per comment;
- **severity**: the mean of the negative share (of all the category's
  mentions, how many were negative) and the low-rating share (of those
  negative comments with a rating, how many rated 1 or 2);
- **trend**: the rate against the previous period, ``worse``/``better`` when a
  one-sided two-proportion test says so at ``alpha``, else ``steady``.

Issues are ranked in tiers: the ones getting significantly worse come first,
by their excess (negatives above what the previous rate predicts), then the
steady ones and last the improving ones, each by volume x severity. A big,
old, steady complaint thus stays on the agenda, but below what just broke.

Each issue carries example comments (masked, see :mod:`serving.reports.cases`)
and the attribution verdict (individual or systemic, see
:mod:`serving.reports.attribution`). Praise worth sharing ranks agents by the
shrunk rate of comments with any category positive. Items of a previous
agenda (its JSON) are compared with this period: improved, worse or unchanged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from serving.reports.attribution import attribution_report
from serving.reports.cases import training_cases
from serving.reports.data import (
    Frames,
    Period,
    ReportInputError,
    as_frames,
    category_flags,
    default_period,
    parse_period,
    require_rows,
)
from serving.reports.mask import mask
from serving.reports.stats import two_proportion_p, unit_rates

logger = logging.getLogger(__name__)

TIERS = {"worse": 0, "steady": 1, "better": 2}


def read_agenda(path: str | Path) -> dict[str, Any]:
    """A previous agenda written by ``pingjia report agenda --format json``."""
    try:
        agenda = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ReportInputError(
            f"expected the previous agenda as JSON, got broken JSON in {str(path)!r} "
            f"({error.msg} at line {error.lineno}); pass the file written with "
            "--format json"
        ) from None
    return check_agenda(agenda, str(path))


def check_agenda(agenda: Any, where: str = "previous agenda") -> dict[str, Any]:
    if not isinstance(agenda, dict) or agenda.get("report") != "agenda":
        got = agenda.get("report") if isinstance(agenda, dict) else type(agenda)
        raise ReportInputError(
            f'{where}: expected an agenda report ("report": "agenda"), got '
            f"{got!r}; pass the JSON of an earlier `pingjia report agenda`"
        )
    for item in agenda.get("issues", []):
        missing = {"category", "hits", "comments"} - set(item)
        if missing:
            raise ReportInputError(
                f"{where}: expected each issue with category, hits and comments, "
                f"got {sorted(item)!r} (missing {sorted(missing)!r}); regenerate it"
            )
    return agenda


def retro_agenda(
    records: Iterable[dict[str, Any]] | Frames,
    period: str | Period | None = None,
    previous_agenda: dict[str, Any] | str | Path | None = None,
    events: Iterable[dict[str, Any]] | None = None,
    by: str = "agent_id",
    examples: int = 3,
    praise: int = 3,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """The agenda for ``period`` (default: the data's last four weeks)."""
    frames = as_frames(records)
    period = parse_period(period) if period else default_period(frames)
    previous = period.previous()
    now = frames.in_period(period)
    require_rows(now, period, "agenda")
    if isinstance(previous_agenda, str | Path):
        previous_agenda = read_agenda(previous_agenda)
    events = list(events or [])

    issues = [
        _issue(frames, key, period, previous, alpha)
        for key in sorted(set(now.mentions["category"]))
    ]
    issues = [i for i in issues if i["hits"] or i["previous_hits"]]
    issues.sort(key=_rank_key)
    _add_examples(issues, now, examples)
    for issue in issues:
        issue["attribution"] = _attribution(frames, issue, period, by, events, alpha)

    logger.info("agenda %s: %d issues", period, len(issues))
    return {
        "report": "agenda",
        "period": period.to_dict(),
        "previous_period": previous.to_dict(),
        "comments": len(now.comments),
        "previous_comments": int(
            previous.contains(frames.comments["created_at"]).sum()
        ),
        "issues": [{"rank": i, **issue} for i, issue in enumerate(issues, start=1)],
        "praise": _praise(now, praise, alpha),
        "follow_up": _follow_up(previous_agenda, issues, alpha),
        "events": events,
        "synthetic": bool(frames.comments["synthetic"].any()),
    }


def _issue(
    frames: Frames, category: str, period: Period, previous: Period, alpha: float
) -> dict[str, Any]:
    flags = category_flags(frames, category)
    now = flags[period.contains(flags["created_at"])]
    before = flags[previous.contains(flags["created_at"])]
    k1, n1 = int(now["hit"].sum()), len(now)
    k0, n0 = int(before["hit"].sum()), len(before)
    severity = _severity(frames, category, period, now)
    trend = _trend(k1, n1, k0, n0, alpha)
    return {
        "category": category,
        "hits": k1,
        "comments": n1,
        "rate": round(k1 / n1, 4) if n1 else 0.0,
        "previous_hits": k0,
        "previous_comments": n0,
        "previous_rate": round(k0 / n0, 4) if n0 else None,
        **severity,
        **trend,
        "priority": round(k1 * severity["severity"], 1),
    }


def _severity(
    frames: Frames, category: str, period: Period, now: pd.DataFrame
) -> dict[str, float | None]:
    mentions = frames.mentions[
        (frames.mentions["category"] == category)
        & period.contains(frames.mentions["created_at"])
    ]
    negative_share = (
        float((mentions["polarity"] == "negative").mean()) if len(mentions) else 0.0
    )
    rated = now[(now["hit"] == 1) & now["rating"].notna()]["rating"]
    low = float((rated <= 2).mean()) if len(rated) else None
    parts = [negative_share] + ([low] if low is not None else [])
    return {
        "negative_share": round(negative_share, 4),
        "low_rating_share": round(low, 4) if low is not None else None,
        "severity": round(sum(parts) / len(parts), 4),
    }


def _trend(k1: int, n1: int, k0: int, n0: int, alpha: float) -> dict[str, Any]:
    worse = two_proportion_p(k1, n1, k0, n0)
    better = two_proportion_p(k0, n0, k1, n1)
    trend = "worse" if worse < alpha else "better" if better < alpha else "steady"
    excess = k1 - n1 * k0 / n0 if n0 else None
    ratio = (k1 / n1) / (k0 / n0) if n0 and n1 and k0 else None
    return {
        "trend": trend,
        "rate_ratio": round(ratio, 3) if ratio is not None else None,
        "excess": round(excess, 1) if excess is not None else None,
        "p_worse": round(worse, 6),
        "p_better": round(better, 6),
    }


def _rank_key(issue: dict[str, Any]) -> tuple[int, float]:
    if issue["trend"] == "worse":
        return TIERS["worse"], -(issue["excess"] or 0.0)
    return TIERS[issue["trend"]], -issue["priority"]


def _add_examples(issues: list[dict[str, Any]], now: Frames, n: int) -> None:
    keys = [i["category"] for i in issues if i["hits"]]
    cases = training_cases(now, categories=keys, n=n) if keys and n else None
    found = {c["category"]: c for c in (cases or {}).get("categories", [])}
    for issue in issues:
        picked = found.get(issue["category"], {}).get("cases", [])
        issue["examples"] = [
            {key: case[key] for key in ("id", "text", "highlight", "agent_id")}
            for case in picked
        ]


def _attribution(
    frames: Frames,
    issue: dict[str, Any],
    period: Period,
    by: str,
    events: list[dict[str, Any]],
    alpha: float,
) -> dict[str, Any] | None:
    if not issue["hits"]:
        return None
    report = attribution_report(
        frames, issue["category"], period=period, by=by, events=events, alpha=alpha
    )
    return {
        "verdict": report["verdict"],
        "reason": report["reason"],
        "flagged": report["individual"]["flagged"],
        "concentrated_in": report["concentrated_in"],
        "change_point": report["timeline"]["change_point"],
        "matched_events": report["timeline"]["matched_events"],
        "weekly": report["timeline"]["weekly"],
    }


def _praise(now: Frames, top: int, alpha: float) -> list[dict[str, Any]]:
    """Agents ranked by the shrunk rate of comments praising something."""
    positive = now.mentions[now.mentions["polarity"] == "positive"]
    comments = now.comments.copy()
    comments["hit"] = comments["id"].isin(set(positive["id"])).astype(int)
    units = unit_rates(comments, "agent_id", alpha=alpha)
    if units.empty:
        return []
    best = units.sort_values("shrunk", ascending=False).head(top)
    return [
        {
            "agent_id": str(row.unit),
            "comments": int(row.n),
            "praised": int(row.k),
            "shrunk_rate": round(float(row.shrunk), 4),
            "low": round(float(row.low), 4),
            "high": round(float(row.high), 4),
            "stands_out": bool(row.flagged),
            "example": _praise_example(positive, str(row.unit)),
        }
        for row in best.itertuples()
    ]


def _praise_example(positive: pd.DataFrame, agent: str) -> dict[str, Any] | None:
    mine = positive[positive["agent_id"] == agent]
    mine = mine[mine["text"].str.strip() != ""]
    if mine.empty:
        return None
    # Praise of the person (attitude, professionalism) teaches more than of food.
    personal = mine[mine["category"].isin(["attitude", "professionalism"])]
    row = (personal if len(personal) else mine).sort_values("confidence").iloc[-1]
    return {"id": row["id"], "category": row["category"], "text": mask(row["text"])}


def _follow_up(
    previous: dict[str, Any] | None, issues: list[dict[str, Any]], alpha: float
) -> list[dict[str, Any]]:
    if not previous:
        return []
    now = {i["category"]: i for i in issues}
    out = []
    for item in previous.get("issues", []):
        current = now.get(item["category"])
        k0, n0 = int(item["hits"]), int(item["comments"])
        k1, n1 = (current["hits"], current["comments"]) if current else (0, 0)
        if two_proportion_p(k0, n0, k1, n1) < alpha:
            status = "improved"
        elif two_proportion_p(k1, n1, k0, n0) < alpha:
            status = "worse"
        else:
            status = "unchanged" if n1 else "no data"
        out.append(
            {
                "category": item["category"],
                "previous_rank": item.get("rank"),
                "previous_period": previous.get("period"),
                "previous_rate": round(k0 / n0, 4) if n0 else None,
                "rate": round(k1 / n1, 4) if n1 else None,
                "status": status,
            }
        )
    return out


def _count(frames: Frames, period: Period) -> int:
    return int(period.contains(frames.comments["created_at"]).sum())
