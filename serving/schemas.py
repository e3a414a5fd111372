"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Polarity = Literal["positive", "negative", "neutral"]


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="allow")  # other fields are echoed back

    id: str | None = Field(None, max_length=200, description="Your id for the comment.")
    text: str = Field(
        ...,
        description="The comment, in Chinese.",
        examples=["送餐很快，态度也好，就是汤洒了"],
    )


class ClassifyRequest(BaseModel):
    comments: list[CommentIn] = Field(..., min_length=1)


class SentimentOut(BaseModel):
    label: Polarity
    score: float


class CategoryOut(BaseModel):
    label: str = Field(..., description="Category key of the label set in force.")
    score: float = Field(..., description="Calibrated probability that it applies.")
    sentiment: Polarity
    sentiment_score: float


class UndecidedOut(BaseModel):
    label: str = Field(..., description="Category key of the label set in force.")
    score: float | None = Field(
        None,
        description="Score of the model's category it was split from; none for a "
        "category the model's label set did not have.",
    )


class ResultOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    text: str
    sentiment: SentimentOut
    categories: list[CategoryOut]
    undecided: list[UndecidedOut] = Field(
        default_factory=list,
        description="Categories the model, trained on an older label set, cannot "
        "decide (a category it knows was split since).",
    )
    review: bool = Field(..., description="A person should check this one.")
    truncated: bool


class ClassifyResponse(BaseModel):
    model_version: str
    label_set_version: str
    migrated_from: str | None = Field(
        None, description="The model's label-set version, when outputs are migrated."
    )
    results: list[ResultOut]


class ErrorOut(BaseModel):
    detail: str | list
