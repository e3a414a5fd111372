"""The input record of the feedback store, checked with pydantic.

Input records use the field names of issue 7: ``id``, ``text``, ``agent_id``,
``team``, ``channel``, ``process_step``, ``created_at`` (ISO 8601) and
``rating`` (1 to 5); all but ``text`` may be missing, and every other field is
kept. A record that carries the labels of ``pingjia classify`` (sentiment,
categories, ... model_version) brings them along.

Rows come from JSON, CSV (everything a string, empty for missing) and Parquet
(numpy values, NaN for missing); :func:`clean_row` brings all three to plain
Python first, so one model checks them all.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from serving.store.models import FIELD_LENGTH, ID_LENGTH, VERSION_LENGTH

Polarity = Literal["positive", "negative", "neutral"]
META_FIELDS = ("agent_id", "team", "channel", "process_step")
INPUT_FIELDS = ("id", "text", *META_FIELDS, "created_at", "rating")
LABEL_FIELDS = (
    "sentiment",
    "categories",
    "undecided",
    "review",
    "truncated",
    "model_version",
    "label_set_version",
)
# the fields that make a record "already labelled"; the others may be missing
REQUIRED_LABEL_FIELDS = ("sentiment", "categories", "model_version")
_JSON_FIELDS = ("sentiment", "categories", "undecided")


def _as_text(value: Any) -> Any:
    """Ids and names often come as numbers (CSV, spreadsheets); keep them text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


class FeedbackRecord(BaseModel):
    """One comment with its metadata; other fields land in ``model_extra``."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    id: str | None = Field(None, min_length=1, max_length=ID_LENGTH)
    text: str = Field(..., min_length=1)
    agent_id: str | None = Field(None, max_length=FIELD_LENGTH)
    team: str | None = Field(None, max_length=FIELD_LENGTH)
    channel: str | None = Field(None, max_length=FIELD_LENGTH)
    process_step: str | None = Field(None, max_length=FIELD_LENGTH)
    created_at: datetime | None = Field(
        None,
        description="ISO 8601; without a UTC offset it is read in the store's "
        "time zone (UTC unless configured).",
    )
    rating: int | None = Field(None, ge=1, le=5)

    @field_validator("id", *META_FIELDS, mode="before")
    @classmethod
    def _names_as_text(cls, value: Any) -> Any:
        return _as_text(value)

    @field_validator("text", mode="before")
    @classmethod
    def _text_is_a_string(cls, value: Any) -> Any:
        # A number where the text should be is a shifted column, not a comment.
        if value is not None and not isinstance(value, str):
            raise ValueError(f"expected a string, got {type(value).__name__}")
        return value

    @field_validator("created_at", mode="after")
    @classmethod
    def _a_time_reports_can_use(cls, value: datetime | None) -> datetime | None:
        # Reports count by day with pandas, whose times end in 2262; the store
        # also turns every time into UTC, which overflows at year 1 or 9999.
        if value is not None and not 1900 <= value.year <= 2200:
            raise ValueError(
                f"expected a time between the years 1900 and 2200, got "
                f"{value.isoformat()}; check the date (a mistyped year?)"
            )
        return value

    @property
    def extra(self) -> dict[str, Any]:
        return {
            k: v for k, v in (self.model_extra or {}).items() if k not in LABEL_FIELDS
        }


class SentimentIn(BaseModel):
    label: Polarity
    score: float = Field(..., ge=0, le=1)


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    label: str
    score: float = Field(..., ge=0, le=1)
    sentiment: Polarity
    sentiment_score: float = Field(..., ge=0, le=1)


class LabelsIn(BaseModel):
    """The labels a model gave one comment, as ``classify`` writes them."""

    sentiment: SentimentIn
    categories: list[CategoryIn]
    undecided: list[dict[str, Any]] = Field(default_factory=list)
    review: bool = False
    truncated: bool | None = None
    model_version: str = Field(..., min_length=1, max_length=VERSION_LENGTH)
    label_set_version: str = Field("1", min_length=1, max_length=VERSION_LENGTH)

    @field_validator("model_version", "label_set_version", mode="before")
    @classmethod
    def _versions_as_text(cls, value: Any) -> Any:
        return _as_text(value)


FIXES = {
    "id": (
        f"a string of 1 to {ID_LENGTH} characters",
        "shorten it, or leave it out to have one computed from the text",
    ),
    "text": ("a non-empty string", "give every record the comment's text"),
    "created_at": (
        "an ISO 8601 time such as '2026-11-03T14:05:00+08:00'",
        "write the time in ISO 8601, or leave it empty",
    ),
    "rating": ("a whole number from 1 to 5", "use 1 to 5, or leave it empty"),
    **{
        field: (
            f"a string of at most {FIELD_LENGTH} characters",
            "shorten it, or leave it empty",
        )
        for field in META_FIELDS
    },
}
LABELS_FIX = (
    "labels as `pingjia classify` writes them",
    "pass the classify output unchanged, or drop the label fields to have the "
    "model label the record",
)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value) in ("NaT", "<NA>")


def _plain(value: Any) -> Any:
    """numpy arrays and scalars (Parquet rows) as lists and Python values."""
    if hasattr(value, "tolist") and not isinstance(value, str):
        return _plain(value.tolist())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def clean_row(row: dict[str, Any]) -> dict[str, Any]:
    """One row of any reader as plain Python, with missing values as None."""
    clean: dict[str, Any] = {}
    for key, value in row.items():
        value = _plain(value)
        if not isinstance(value, list | dict) and _missing(value):
            value = None
        elif isinstance(value, str) and key != "text" and not value.strip():
            value = None  # an empty CSV cell means "not given"
        elif key in _JSON_FIELDS and isinstance(value, str):
            value = _json_cell(value)
        clean[str(key)] = value
    return clean


def _json_cell(value: str) -> Any:
    # CSV written by classify holds sentiment and categories as JSON text
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value  # left for LabelsIn to reject with its reason


def carries_labels(row: dict[str, Any]) -> bool:
    return any(row.get(field) is not None for field in LABEL_FIELDS)


def describe(error: ValidationError, labels: bool = False) -> str:
    """What was expected, what came and how to fix it, for each failed field."""
    reasons = []
    for item in error.errors():
        loc = item.get("loc", ())
        field = str(loc[0]) if loc else "record"
        where = ".".join(str(part) for part in loc) or "record"
        expected, fix = LABELS_FIX if labels else FIXES.get(field, ("?", "fix it"))
        got = item.get("input")
        got_text = "nothing" if item["type"] == "missing" else repr(got)
        if isinstance(got, dict):
            got_text = "a record without it" if item["type"] == "missing" else "{...}"
        reasons.append(
            f"{where}: expected {expected}, got {got_text} ({item['msg']}); {fix}"
        )
    return "; ".join(reasons)
