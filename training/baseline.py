"""Fit the jieba + TF-IDF + logistic-regression baseline on the same data."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from labels.taxonomy import LabelSet
from model.config import Calibration, ClassifierConfig
from model.tfidf import TfidfModel, jieba_words
from training.calibrate import best_threshold, fit_temperature_binary
from training.data import IGNORE, Example

logger = logging.getLogger(__name__)


def _logistic(features, target, weight=None) -> LogisticRegression | None:
    if len(set(target)) < 2:
        return None
    clf = LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced")
    return clf.fit(features, target, sample_weight=weight)


def fit_baseline(
    train: list[Example],
    weak: list[Example],
    dev: list[Example],
    label_set: LabelSet,
    output: Path,
    model_version: str,
) -> TfidfModel:
    """Presence and polarity from hand labels, sentiment from hand + weak."""
    vectorizer = TfidfVectorizer(
        tokenizer=jieba_words,
        token_pattern=None,
        lowercase=True,
        ngram_range=(1, 2),
        min_df=2,
        sublinear_tf=True,
    )
    vectorizer.fit([e.text for e in train + weak])
    hand = vectorizer.transform([e.text for e in train])

    presence = np.array([e.presence for e in train])
    polarity = np.array([e.polarity for e in train])
    parts = {
        "vectorizer": vectorizer,
        "presence": [
            _logistic(hand, presence[:, k]) for k in range(len(label_set.keys))
        ],
        "polarity": [],
    }
    for k in range(len(label_set.keys)):
        rows = polarity[:, k] != IGNORE
        labels = [label_set.polarities[p] for p in polarity[rows, k]]
        parts["polarity"].append(_logistic(hand[rows.nonzero()[0]], labels))

    labelled = [e for e in train + weak if e.sentiment != IGNORE]
    parts["sentiment"] = _logistic(
        vectorizer.transform([e.text for e in labelled]),
        [label_set.sentiments[e.sentiment] for e in labelled],
        np.array([e.weight for e in labelled]),
    )

    config = ClassifierConfig(
        base_encoder="jieba+tfidf",
        label_set_version=label_set.version,
        categories=list(label_set.keys),
        polarities=list(label_set.polarities),
        sentiments=list(label_set.sentiments),
        kind="tfidf",
        extra={"model_version": model_version},
    )
    model = TfidfModel(config, parts, Calibration.identity(len(label_set.keys)))
    model.calibration = _calibrate(model, dev)
    model.save(output)
    logger.info("saved TF-IDF baseline %s to %s", model_version, output)
    return model


def _calibrate(model: TfidfModel, dev: list[Example]) -> Calibration:
    logits = model.logits([e.text for e in dev])
    truth = np.array([e.presence for e in dev])
    temperatures = [
        fit_temperature_binary(logits["presence"][:, k], truth[:, k])
        for k in range(truth.shape[1])
    ]
    thresholds = [
        best_threshold(1 / (1 + np.exp(-logits["presence"][:, k] / t)), truth[:, k])
        for k, t in enumerate(temperatures)
    ]
    return Calibration(presence_temperature=temperatures, thresholds=thresholds)
