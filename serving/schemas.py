"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from serving.store.schema import FeedbackRecord

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


class FeedbackIn(FeedbackRecord):
    """A comment for the feedback store; fields other than these are kept."""

    model_config = ConfigDict(
        extra="allow",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "ticket-1042",
                    "text": "客服半天不回，问题也没解决",
                    "agent_id": "a17",
                    "team": "售后一组",
                    "channel": "app",
                    "process_step": "refund",
                    "created_at": "2026-11-03T14:05:00+08:00",
                    "rating": 2,
                }
            ]
        },
    )


class FeedbackRequest(BaseModel):
    comments: list[FeedbackIn] = Field(..., min_length=1)


class FeedbackResultOut(BaseModel):
    id: str = Field(..., description="The comment's id (computed when not sent).")
    status: Literal["new", "updated", "unchanged"] = Field(
        ..., description="What the store did with the comment."
    )
    labels: Literal["new", "relabelled", "updated", "unchanged"] = Field(
        ...,
        description="new: first labels; relabelled: another model's labels kept "
        "as history; updated/unchanged: this model had labelled it before.",
    )
    sentiment: SentimentOut
    categories: list[CategoryOut]
    review: bool
    truncated: bool


class FeedbackResponse(BaseModel):
    model_version: str
    label_set_version: str
    results: list[FeedbackResultOut]
