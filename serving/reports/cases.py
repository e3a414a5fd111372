"""Training cases: real negative comments turned into teaching material.

For each category, :func:`training_cases` picks ``n`` comments labelled with
the category negative that are

- **confidently labelled**: presence and polarity scores both at least
  ``min_score`` (hand labels carry 1.0);
- **typical**: close to the centroid of all the category's negative comments
  in a TF-IDF space of character 1-3-grams (no word segmenter needed, robust to
  typos and mixed scripts);
- **diverse**: chosen greedily by maximal marginal relevance
  (``lambda * typicality - (1 - lambda) * max similarity to those chosen``),
  and never one whose cosine similarity to a chosen case exceeds
  ``max_similarity``, so near-duplicates cannot both appear.

Each case has its personal data masked (:mod:`serving.reports.mask`) and the
phrase that carries the complaint highlighted: the comment is cut into clauses
at punctuation, and the clause whose n-grams weigh most among the category's
*indicative terms* wins. Indicative terms are the n-grams whose mean TF-IDF
weight in the category's negative comments most exceeds their weight in all
other comments, plus the label set's own examples for the category (weighted
as the strongest term), so a short set of texts still has anchors.

A contrasting, well-handled example is the most typical confidently labelled
comment with the same category *positive*, when one exists.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from serving.reports.data import (
    Frames,
    Period,
    ReportInputError,
    as_frames,
    parse_period,
)
from serving.reports.mask import mask

logger = logging.getLogger(__name__)

_HANDLES = re.compile(r"@\S+")
_CLAUSES = re.compile(r"[^，。！？；,.!?;~～…\n\r]+[，。！？；,.!?;~～…]*")


def _label_examples(category: str, label_set_version: str = "1") -> list[str]:
    """The label set's example phrases for ``category``; none if it is unknown."""
    from labels.taxonomy import load_label_set

    try:
        return list(load_label_set(label_set_version).category(category).examples)
    except (KeyError, ValueError, FileNotFoundError):
        return []


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1
    )


@dataclass
class _Space:
    """Every comment's TF-IDF row (L2-normalised), fitted once per report."""

    ids: pd.Index
    matrix: Any  # scipy sparse, (comments, n-grams)
    names: np.ndarray
    position: dict[str, int]

    @classmethod
    def fit(cls, texts: pd.Series) -> _Space:
        vectorizer = _vectorizer()
        matrix = vectorizer.fit_transform(texts.tolist() or [""])
        ids = texts.index
        return cls(
            ids,
            matrix,
            vectorizer.get_feature_names_out(),
            {key: i for i, key in enumerate(ids)},
        )

    def rows(self, ids: Iterable[str]):
        return self.matrix[[self.position[i] for i in ids]]


def training_cases(
    records: Iterable[dict[str, Any]] | Frames,
    categories: Iterable[str] | None = None,
    n: int = 5,
    period: str | Period | None = None,
    min_score: float = 0.7,
    max_similarity: float = 0.5,
    diversity: float = 0.3,
    terms: int = 15,
) -> dict[str, Any]:
    """Per category: ``n`` typical, diverse, confident negatives, masked and marked.

    ``diversity`` is 1 - lambda of the MMR selection; ``max_similarity`` the
    cosine cap between any two chosen cases.
    """
    if n < 1:
        raise ReportInputError(f"expected at least 1 case per category, got n={n}")
    # without a period no time is read, so records need no created_at
    frames = as_frames(records, times=bool(period))
    if period:
        frames = frames.in_period(parse_period(period))
    found = sorted(set(frames.mentions["category"]))
    keys = list(categories) if categories else found
    unknown = [k for k in keys if k not in found]
    if unknown or not keys:
        raise ReportInputError(
            f"expected categories that occur in the records {found}, got "
            f"{unknown or 'none'}; check the keys (v1: attitude, speed, ...) or "
            "the period"
        )
    texts = frames.comments.set_index("id")["text"]
    space = _Space.fit(texts)

    out = [
        _category_cases(
            frames,
            space,
            key,
            n,
            min_score,
            max_similarity,
            diversity,
            terms,
        )
        for key in keys
    ]
    return {
        "report": "cases",
        "period": parse_period(period).to_dict() if period else None,
        "params": {
            "n": n,
            "min_score": min_score,
            "max_similarity": max_similarity,
            "diversity": diversity,
        },
        "categories": out,
        "synthetic": bool(frames.comments["synthetic"].any()),
    }


def _category_cases(
    frames: Frames,
    space: _Space,
    category: str,
    n: int,
    min_score: float,
    max_similarity: float,
    diversity: float,
    terms: int,
) -> dict[str, Any]:
    mentions = frames.mentions[frames.mentions["category"] == category]
    negative = mentions[mentions["polarity"] == "negative"]
    confident = negative[negative["confidence"] >= min_score]
    confident = confident[confident["text"].str.strip() != ""]
    if negative.empty:
        return _empty(category, "no negative comments in the records")

    inside = space.ids.isin(set(negative["id"]))
    centroid = np.asarray(space.matrix[inside].mean(axis=0)).ravel()
    weights = _indicative(space, inside, category, terms)
    chosen = _select(
        space.rows(confident["id"]),
        centroid,
        n,
        max_similarity,
        diversity,
    )
    cases = [_case(confident.iloc[i], typicality, weights) for i, typicality in chosen]
    return {
        "category": category,
        "negative_comments": len(negative),
        "confident_comments": len(confident),
        "indicative_terms": list(weights)[:terms],
        "cases": cases,
        "contrast": _contrast(mentions, space, min_score, weights),
    }


def _empty(category: str, why: str) -> dict[str, Any]:
    return {
        "category": category,
        "negative_comments": 0,
        "confident_comments": 0,
        "indicative_terms": [],
        "cases": [],
        "contrast": None,
        "note": why,
    }


def _indicative(
    space: _Space, is_in: np.ndarray, category: str, terms: int
) -> dict[str, float]:
    """n-gram -> weight: mean TF-IDF inside the category's negatives minus outside."""
    matrix = space.matrix
    mean_in = np.asarray(matrix[is_in].mean(axis=0)).ravel()
    mean_out = (
        np.asarray(matrix[~is_in].mean(axis=0)).ravel()
        if (~is_in).any()
        else np.zeros_like(mean_in)
    )
    gap = mean_in - mean_out
    names = space.names
    weights: dict[str, float] = {}
    for i in np.argsort(-gap):
        term = str(names[i]).strip()
        if gap[i] <= 0 or len(weights) >= terms * 3:
            break
        # Single characters carry little meaning; handles name a source, not a
        # complaint; a term inside a stronger one adds nothing.
        if len(term) < 2 or "@" in term or any(term in kept for kept in weights):
            continue
        weights[term] = float(gap[i])
    strongest = max(weights.values(), default=1.0)
    for example in _label_examples(category):
        weights.setdefault(example, strongest)
    return dict(sorted(weights.items(), key=lambda kv: -kv[1]))


def _select(
    vectors, centroid: np.ndarray, n: int, cap: float, diversity: float
) -> list[tuple[int, float]]:
    """Greedy MMR over rows of ``vectors``: (row, typicality) in chosen order."""
    if vectors.shape[0] == 0:
        return []
    norm = np.linalg.norm(centroid) or 1.0
    typicality = np.asarray(vectors @ (centroid / norm)).ravel()
    similarity = (vectors @ vectors.T).toarray()  # rows are L2-normalised
    chosen: list[int] = []
    candidates = set(range(vectors.shape[0]))
    while candidates and len(chosen) < n:
        best, best_score = None, -np.inf
        for i in candidates:
            nearest = max((similarity[i, j] for j in chosen), default=0.0)
            if nearest > cap:
                continue
            score = (1 - diversity) * typicality[i] - diversity * nearest
            if score > best_score:
                best, best_score = i, score
        if best is None:
            break
        chosen.append(best)
        candidates.discard(best)
    return [(i, round(float(typicality[i]), 4)) for i in chosen]


def highlight(text: str, weights: dict[str, float]) -> dict[str, Any] | None:
    """The clause of ``text`` whose indicative terms weigh most: span and text.

    A clause scores the summed weight of the terms it contains, divided by the
    square root of its length so that a run-on clause does not win by size;
    @handles (Weibo mentions) are left out of the scoring.
    """
    best, best_score = None, 0.0
    for match in _CLAUSES.finditer(text):
        clause = _HANDLES.sub("", match.group()).strip()
        if not clause:
            continue
        found = sum(w for term, w in weights.items() if term in clause)
        score = found / np.sqrt(len(clause))
        if score > best_score:
            best, best_score = match, score
    if best is None:
        return None
    return {"start": best.start(), "end": best.end(), "text": best.group()}


def _case(row, typicality: float, weights: dict[str, float]) -> dict[str, Any]:
    text = mask(row["text"])
    return {
        "id": row["id"],
        "text": text,
        "highlight": highlight(text, weights),
        "score": round(float(row["confidence"]), 4),
        "typicality": typicality,
        "agent_id": row.get("agent_id"),
        "process_step": row.get("process_step"),
        "rating": None if pd.isna(row["rating"]) else float(row["rating"]),
        "created_at": None
        if pd.isna(row["created_at"])
        else row["created_at"].isoformat(),
    }


def _contrast(
    mentions, space: _Space, min_score: float, weights
) -> dict[str, Any] | None:
    positive = mentions[
        (mentions["polarity"] == "positive") & (mentions["confidence"] >= min_score)
    ]
    positive = positive[positive["text"].str.strip() != ""]
    if positive.empty:
        return None
    vectors = space.rows(positive["id"])
    centroid = np.asarray(vectors.mean(axis=0)).ravel()
    (i, typicality), *_ = _select(vectors, centroid, 1, 1.0, 0.0)
    return _case(positive.iloc[i], typicality, weights)
