"""Attribution: is a rise in negative feedback one agent's problem or the process's?

For one category and polarity (negative by default), :func:`attribution_report`
compares a period with a baseline (by default the period of equal length just
before) and splits what it sees:

1. **Rise**: the period's rate of comments with the category negative against
   the baseline's, and the *excess*: negatives above what the baseline rate
   predicts for the period's volume (one-sided two-proportion z test).
2. **Individual**: per agent (or team, ``by``) in the period, a rate shrunk by
   empirical Bayes (a beta-binomial prior fitted to all units), a 95% posterior
   interval, and an exact binomial test against all other units, with the
   false discovery rate held at ``alpha`` by Benjamini-Hochberg. A unit is
   *flagged* when it passes that test; an agent with 2 comments cannot, unless
   both are extreme. Their share of the excess is what they produced above
   their unflagged peers.
3. **Systemic**: the same table per process step and channel, where a unit is
   flagged when it is above the others in the period *and* rose against its
   own baseline (both after FDR control).
4. **Time**: weekly rates, and the change point of the daily rate up to the
   period's end (two binomial segments, permutation p-value), matched to the
   user's events within ``event_window_days``.

Verdict: ``individual`` when flagged units explain at least half the excess
(or there is no rise but flagged units stand out); ``systemic`` when the rise
is significant and the flagged units explain less; ``none`` otherwise. The
report is a JSON-able dict; :func:`serving.reports.render.render` draws it.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

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
from serving.reports.stats import (
    change_point,
    two_proportion_p,
    unit_rates,
    weekly_rates,
)

logger = logging.getLogger(__name__)

BY_FIELDS = ("agent_id", "team")
POLARITIES = ("negative", "positive", "neutral")
SPREAD_FIELDS = ("process_step", "channel")
INDIVIDUAL_SHARE = 0.5


def read_events(path: str | Path) -> list[dict[str, str]]:
    """Events from a CSV (columns date,description) or JSON lines file."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                rows = list(reader)
                _check_columns(reader.fieldnames or [], path)
        else:
            with path.open(encoding="utf-8-sig") as handle:
                rows = [json.loads(line) for line in handle if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as error:
        raise ReportInputError(
            f"expected events as UTF-8 CSV (columns date,description) or JSON "
            f"lines in {str(path)!r}, got a file that is not ({error}); fix it"
        ) from None
    return check_events(rows, str(path))


def _check_columns(columns: list[str], path: Path) -> None:
    if "date" not in columns:
        raise ReportInputError(
            f"expected an events CSV with columns date,description, got "
            f"{', '.join(columns) or 'none'} in {str(path)!r}; rename its columns"
        )


def check_events(
    events: Iterable[dict[str, Any]], where: str = "events"
) -> list[dict[str, str]]:
    checked = []
    for i, event in enumerate(events, start=1):
        try:
            day = date.fromisoformat(str(event.get("date", ""))[:10])
        except ValueError:
            raise ReportInputError(
                f"{where}: expected each event with a 'date' like '2026-11-02' and "
                f"a 'description', got {event!r} on row {i}; fix the date"
            ) from None
        checked.append(
            {"date": day.isoformat(), "description": str(event.get("description", ""))}
        )
    return checked


def attribution_report(
    records: Iterable[dict[str, Any]] | Frames,
    category: str,
    period: str | Period | None = None,
    baseline: str | Period | None = None,
    by: str = "agent_id",
    polarity: str = "negative",
    events: Iterable[dict[str, Any]] | None = None,
    alpha: float = 0.05,
    event_window_days: int = 7,
) -> dict[str, Any]:
    """Split a rise of ``category``/``polarity`` feedback into individual vs systemic.

    ``period`` defaults to the data's last four weeks, ``baseline`` to the
    period of equal length before it; both read ``START:END`` (days included).
    """
    if by not in BY_FIELDS:
        raise ReportInputError(
            f"expected --by as one of {BY_FIELDS}, got {by!r}; process steps and "
            "channels are always analysed as the systemic side"
        )
    if polarity not in POLARITIES:
        raise ReportInputError(
            f"expected polarity as one of {POLARITIES}, got {polarity!r}"
        )
    frames = as_frames(records)
    period = parse_period(period) if period else default_period(frames)
    baseline = parse_period(baseline) if baseline else period.previous()
    if baseline.end >= period.start:
        raise ReportInputError(
            f"expected a baseline that ends before the period starts, got "
            f"baseline {baseline} and period {period}; leave the baseline out "
            "for the period just before"
        )
    _check_category(frames, category)

    flags = category_flags(frames, category, polarity)
    now = flags[period.contains(flags["created_at"])]
    before = flags[baseline.contains(flags["created_at"])]
    require_rows(Frames(now, frames.mentions.iloc[:0]), period, "report")

    rise = _rise(now, before)
    units = unit_rates(now, by, alpha=alpha)
    individual = _individual(units, now, rise["excess"])
    spread = {field: _spread(now, before, field, alpha) for field in SPREAD_FIELDS}
    timeline = _timeline(flags, period, events, event_window_days)
    verdict = _verdict(rise, individual, spread, alpha)
    logger.info(
        "attribution %s/%s %s: %s", category, polarity, period, verdict["verdict"]
    )
    return {
        "report": "attribution",
        "category": category,
        "polarity": polarity,
        "by": by,
        "period": period.to_dict(),
        "baseline": baseline.to_dict(),
        "alpha": alpha,
        **verdict,
        "rise": rise,
        "individual": individual,
        "systemic": spread,
        "timeline": timeline,
        "synthetic": bool(frames.comments["synthetic"].any()),
    }


def _check_category(frames: Frames, category: str) -> None:
    known = set(frames.mentions["category"])
    if category not in known:
        raise ReportInputError(
            f"expected a category that occurs in the records {sorted(known)}, got "
            f"{category!r}; check the key (v1: attitude, speed, resolution, ...)"
        )


def _rise(now: pd.DataFrame, before: pd.DataFrame) -> dict[str, Any]:
    k1, n1 = int(now["hit"].sum()), len(now)
    k0, n0 = int(before["hit"].sum()), len(before)
    base_rate = k0 / n0 if n0 else None
    excess = k1 - n1 * base_rate if base_rate is not None else None
    return {
        "comments": n1,
        "hits": k1,
        "rate": round(k1 / n1, 4),
        "baseline_comments": n0,
        "baseline_hits": k0,
        "baseline_rate": round(base_rate, 4) if base_rate is not None else None,
        "excess": round(excess, 1) if excess is not None else None,
        "p": float(f"{two_proportion_p(k1, n1, k0, n0):.3g}"),
    }


def _unit_rows(units: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "unit": str(row.unit),
            "comments": int(row.n),
            "hits": int(row.k),
            "rate": round(float(row.rate), 4),
            "shrunk_rate": round(float(row.shrunk), 4),
            "low": round(float(row.low), 4),
            "high": round(float(row.high), 4),
            "p": float(f"{row.p:.3g}"),
            "q": float(f"{row.q:.3g}"),
            "flagged": bool(row.flagged),
        }
        for row in units.itertuples()
    ]


def _individual(
    units: pd.DataFrame, now: pd.DataFrame, excess: float | None
) -> dict[str, Any]:
    flagged = units[units["flagged"]]
    rest = units[~units["flagged"]]
    peers = rest["k"].sum() / rest["n"].sum() if rest["n"].sum() else 0.0
    above = float((flagged["k"] - flagged["n"] * peers).sum())
    prior = units.attrs.get("prior")
    return {
        "peer_rate": round(float(peers), 4),
        "flagged": [str(u) for u in flagged["unit"]],
        "excess_over_peers": round(above, 1),
        "share_of_excess": _share(above, excess),
        "prior": (
            {"a": round(float(prior.a), 3), "b": round(float(prior.b), 3)}
            if prior
            else None
        ),
        "units": _unit_rows(units),
    }


def _prior_dict(prior) -> dict[str, float] | None:
    if prior is None:
        return None
    return {"a": round(float(prior.a), 3), "b": round(float(prior.b), 3)}


def _share(part: float, whole: float | None) -> float | None:
    if whole is None or whole <= 0:
        return None
    return round(min(part / whole, 1.0), 3)


def _spread(
    now: pd.DataFrame, before: pd.DataFrame, field: str, alpha: float
) -> dict[str, Any]:
    """Units of a process field: above the others now, and risen vs their baseline."""
    from statsmodels.stats.multitest import multipletests

    units = unit_rates(now, field, alpha=alpha)
    if units.empty:
        return {"flagged": [], "units": []}
    old = before.dropna(subset=[field]).groupby(field)["hit"].agg(["count", "sum"])
    rise_p = [
        two_proportion_p(
            int(row.k),
            int(row.n),
            int(old["sum"].get(row.unit, 0)),
            int(old["count"].get(row.unit, 0)),
        )
        for row in units.itertuples()
    ]
    rise_q = multipletests(rise_p, alpha=alpha, method="fdr_bh")[1]
    rows = _unit_rows(units)
    for row, q in zip(rows, rise_q, strict=True):
        count = int(old["count"].get(row["unit"], 0))
        hits = int(old["sum"].get(row["unit"], 0))
        row["baseline_rate"] = round(hits / count, 4) if count else None
        row["rise_q"] = float(f"{q:.3g}")
        row["excess"] = (
            round(row["hits"] - row["comments"] * hits / count, 1) if count else None
        )
        # Without a baseline for the unit, standing out now is all we can test.
        row["flagged"] = bool(row["flagged"] and (q < alpha or not count))
    return {"flagged": [r["unit"] for r in rows if r["flagged"]], "units": rows}


def _timeline(
    flags: pd.DataFrame,
    period: Period,
    events: Iterable[dict[str, Any]] | None,
    window: int,
) -> dict[str, Any]:
    upto = flags[flags["created_at"] < pd.Timestamp(period.end + timedelta(days=1))]
    point = change_point(upto["created_at"], upto["hit"]) if len(upto) else None
    checked = check_events(events or [])
    matched = []
    if point is not None:
        when = date.fromisoformat(point.date)
        for event in checked:
            gap = (date.fromisoformat(event["date"]) - when).days
            if abs(gap) <= window:
                matched.append({**event, "days_from_change": gap})
    return {
        "weekly": weekly_rates(upto["created_at"], upto["hit"]),
        "change_point": point.to_dict() if point else None,
        "events": checked,
        "event_window_days": window,
        "matched_events": matched,
    }


def _verdict(
    rise: dict[str, Any],
    individual: dict[str, Any],
    spread: dict[str, dict[str, Any]],
    alpha: float,
) -> dict[str, Any]:
    risen = rise["excess"] is not None and rise["excess"] > 0 and rise["p"] < alpha
    share = individual["share_of_excess"]
    flagged = individual["flagged"]
    where = {field: spread[field]["flagged"] for field in SPREAD_FIELDS}
    if flagged and (not risen or (share or 0) >= INDIVIDUAL_SHARE):
        verdict = "individual"
        reason = (
            f"{len(flagged)} unit(s) stand out after FDR control: "
            f"{', '.join(flagged)}"
            + (f"; they explain {share:.0%} of the rise" if risen and share else "")
        )
    elif risen:
        verdict = "systemic"
        reason = _systemic_reason(individual, spread, where)
    else:
        verdict = "none"
        reason = "no significant rise and no unit stands out"
    return {"verdict": verdict, "reason": reason, "concentrated_in": where}


def _systemic_reason(
    individual: dict[str, Any],
    spread: dict[str, dict[str, Any]],
    where: dict[str, list[str]],
) -> str:
    if not individual["units"] and not any(s["units"] for s in spread.values()):
        return (
            "the rise is significant, but the records carry no agent, team, "
            "step or channel to place it"
        )
    located = [f"{field}={unit}" for field, units in where.items() for unit in units]
    if located:
        return f"the rise is spread across units, concentrated in {', '.join(located)}"
    return "the rise is spread across units, process steps and channels"
