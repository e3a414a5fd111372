"""Labelled records -> pandas frames, periods and input checks for the reports.

Two frames carry everything the reports read:

- *comments*: one row per comment (id, text, agent_id, team, channel,
  process_step, created_at as UTC timestamps, rating, sentiment, synthetic);
- *mentions*: one row per (comment, category) the classifier judged present,
  with its polarity and the two scores, plus the comment's metadata.

Times are compared in UTC: an ISO 8601 string with an offset is converted,
one without is taken as UTC already.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

META_FIELDS = ("agent_id", "team", "channel", "process_step")
COMMENT_COLUMNS = (
    "id",
    "text",
    *META_FIELDS,
    "created_at",
    "rating",
    "sentiment",
    "sentiment_score",
    "synthetic",
)
MENTION_COLUMNS = (
    "id",
    "category",
    "polarity",
    "score",
    "polarity_score",
    "confidence",
)


class ReportInputError(ValueError):
    """Records a report cannot use; the message says what to fix."""


@dataclass(frozen=True)
class Period:
    """Whole UTC days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ReportInputError(
                f"expected a period whose end is not before its start, got "
                f"{self.start.isoformat()!r}:{self.end.isoformat()!r}; swap the dates"
            )
        if not (self.start.year >= 1900 and self.end.year <= 2200):
            raise ReportInputError(
                f"expected a period between the years 1900 and 2200, got "
                f"{self.start.isoformat()!r}:{self.end.isoformat()!r}; check the "
                "years"
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of equal length that ends the day before this one."""
        end = self.start - timedelta(days=1)
        try:
            return Period(end - timedelta(days=self.days - 1), end)
        except (ReportInputError, OverflowError):
            raise ReportInputError(
                f"expected a period whose period before (of the same length, for "
                f"the comparison) lies after 1900, got {self}, {self.days} days "
                "long; choose a shorter period"
            ) from None

    def contains(self, times: pd.Series) -> pd.Series:
        lower = pd.Timestamp(self.start)
        upper = pd.Timestamp(self.end + timedelta(days=1))
        return (times >= lower) & (times < upper)

    def __str__(self) -> str:
        return f"{self.start.isoformat()}:{self.end.isoformat()}"

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def parse_period(text: str | Period) -> Period:
    """``"2026-11-01:2026-11-30"`` -> :class:`Period` (both days included)."""
    if isinstance(text, Period):
        return text
    parts = str(text).split(":")
    try:
        if len(parts) != 2:
            raise ValueError("not two parts")
        return Period(date.fromisoformat(parts[0]), date.fromisoformat(parts[1]))
    except ValueError as error:
        if isinstance(error, ReportInputError):
            raise
        raise ReportInputError(
            f"expected a period as START:END in ISO dates, e.g. "
            f"'2026-11-01:2026-11-30', got {text!r}"
        ) from None


def _parse_time(value: Any, record_id: Any, required: bool = True) -> pd.Timestamp:
    missing = value is None or (isinstance(value, float) and pd.isna(value))
    if (missing or value == "") and not required:
        return pd.NaT
    if missing or value == "":
        raise ReportInputError(
            f"expected 'created_at' (an ISO 8601 time such as "
            f"'2026-11-03T09:30:00+08:00') on every record, got {value!r} on record "
            f"{record_id!r}; add the time the comment was written, or leave such "
            "records out of reports"
        )
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ReportInputError(
            f"expected 'created_at' as an ISO 8601 time such as "
            f"'2026-11-03T09:30:00+08:00', got {value!r} on record {record_id!r}; "
            "fix the time format"
        ) from None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def _parse_rating(value: Any, record_id: Any) -> float:
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return float("nan")
    try:
        rating = float(value)
    except (TypeError, ValueError):
        rating = float("nan")
        bad = True
    else:
        bad = not 1 <= rating <= 5
    if bad:
        raise ReportInputError(
            f"expected 'rating' from 1 to 5 or missing, got {value!r} on record "
            f"{record_id!r}; fix or drop the rating"
        )
    return rating


def _check_labels(record: dict[str, Any], row: int) -> None:
    if "id" not in record or record["id"] in (None, ""):
        raise ReportInputError(
            f"expected an 'id' on every record, got none on row {row}; "
            "give each comment its id (labels/ids.py comment_id)"
        )
    sentiment = record.get("sentiment")
    if not isinstance(sentiment, dict) or "label" not in sentiment:
        raise ReportInputError(
            f"expected labelled records with 'sentiment': {{label, score}}, got "
            f"{sentiment!r} on record {record['id']!r}; run `pingjia classify` "
            "on the comments first"
        )
    if not isinstance(record.get("categories"), list):
        raise ReportInputError(
            f"expected 'categories' as a list of {{label, score, sentiment, "
            f"sentiment_score}}, got {record.get('categories')!r} on record "
            f"{record['id']!r}; run `pingjia classify` on the comments first"
        )


def _comment_row(record: dict[str, Any], times: bool = True) -> dict[str, Any]:
    sentiment = record["sentiment"]
    return {
        "id": str(record["id"]),
        "text": record.get("text") or "",
        **{field: _meta(record.get(field)) for field in META_FIELDS},
        "created_at": _parse_time(record.get("created_at"), record["id"], times),
        "rating": _parse_rating(record.get("rating"), record["id"]),
        "sentiment": sentiment["label"],
        "sentiment_score": float(sentiment.get("score", 1.0)),
        "synthetic": bool(record.get("synthetic", False)),
    }


def _meta(value: Any) -> str | None:
    """Metadata as text; missing values stay None so groupby can drop them."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    return str(value)


def _mention_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for category in record["categories"]:
        # all_scores output lists absent categories too, marked present=False.
        if not category.get("present", True):
            continue
        score = float(category.get("score", 1.0))
        polarity_score = float(category.get("sentiment_score", 1.0))
        rows.append(
            {
                "id": str(record["id"]),
                "category": category["label"],
                "polarity": category.get("sentiment", "neutral"),
                "score": score,
                "polarity_score": polarity_score,
                "confidence": min(score, polarity_score),
            }
        )
    return rows


@dataclass
class Frames:
    """The two frames every report reads; see the module docstring."""

    comments: pd.DataFrame
    mentions: pd.DataFrame

    def in_period(self, period: Period | None) -> Frames:
        if period is None:
            return self
        keep = self.comments[period.contains(self.comments["created_at"])]
        return Frames(keep, self.mentions[self.mentions["id"].isin(keep["id"])])

    @property
    def empty(self) -> bool:
        return self.comments.empty


def load_frames(records: Iterable[dict[str, Any]], times: bool = True) -> Frames:
    """Check the records and build the comment and mention frames.

    ``times=False`` lets a record go without ``created_at`` (NaT), for a
    report that reads no time.
    """
    comments, mentions = [], []
    for row, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise ReportInputError(
                f"expected each record as a dict, got {type(record).__name__} on "
                f"row {row}; read files with serving.records.read_records"
            )
        _check_labels(record, row)
        comments.append(_comment_row(record, times))
        mentions.extend(_mention_rows(record))

    comment_frame = pd.DataFrame(comments, columns=list(COMMENT_COLUMNS))
    comment_frame = comment_frame.drop_duplicates("id", keep="last")
    mention_frame = pd.DataFrame(mentions, columns=list(MENTION_COLUMNS))
    mention_frame = mention_frame.drop_duplicates(["id", "category"], keep="last")
    meta = comment_frame[["id", *META_FIELDS, "created_at", "rating", "text"]]
    mention_frame = mention_frame.merge(meta, on="id", how="left")
    logger.info(
        "report input: %d comments, %d category mentions",
        len(comment_frame),
        len(mention_frame),
    )
    return Frames(comment_frame, mention_frame)


def as_frames(records: Iterable[dict[str, Any]] | Frames, times: bool = True) -> Frames:
    return records if isinstance(records, Frames) else load_frames(records, times)


def default_period(frames: Frames, weeks: int = 4) -> Period:
    """The last ``weeks`` weeks of the data, ending on its last day."""
    if frames.empty:
        raise ReportInputError(
            "expected at least one record, got none; check the input file or the "
            "database URL"
        )
    end = frames.comments["created_at"].max().date()
    return Period(end - timedelta(days=7 * weeks - 1), end)


def require_rows(frames: Frames, period: Period, what: str) -> None:
    if frames.empty:
        raise ReportInputError(
            f"expected comments in the {what} period {period}, got none; pick a "
            "period the data covers (see the created_at of your records)"
        )


def category_flags(
    frames: Frames, category: str, polarity: str = "negative"
) -> pd.DataFrame:
    """Comments with a 0/1 column ``hit``: mentions ``category`` with ``polarity``."""
    hits = frames.mentions[
        (frames.mentions["category"] == category)
        & (frames.mentions["polarity"] == polarity)
    ]["id"]
    out = frames.comments.copy()
    out["hit"] = out["id"].isin(set(hits)).astype(int)
    return out
