"""Calibration on the dev split: temperatures, thresholds, review flag."""

from __future__ import annotations

import numpy as np

from model.config import Calibration
from model.predict import sigmoid, softmax

_TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(6.0), 60))
_THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.025), 3)
MIN_POSITIVES_FOR_THRESHOLD = 5


def _bce(probability: np.ndarray, target: np.ndarray) -> float:
    p = np.clip(probability, 1e-7, 1 - 1e-7)
    return float(-(target * np.log(p) + (1 - target) * np.log(1 - p)).mean())


def _nll(probability: np.ndarray, target: np.ndarray) -> float:
    picked = probability[np.arange(len(target)), target]
    return float(-np.log(np.clip(picked, 1e-7, 1)).mean())


def fit_temperature_binary(logits: np.ndarray, target: np.ndarray) -> float:
    losses = [_bce(sigmoid(logits / t), target) for t in _TEMPERATURES]
    return float(_TEMPERATURES[int(np.argmin(losses))])


def fit_temperature_softmax(logits: np.ndarray, target: np.ndarray) -> float:
    if len(target) == 0:
        return 1.0
    losses = [_nll(softmax(logits, t), target) for t in _TEMPERATURES]
    return float(_TEMPERATURES[int(np.argmin(losses))])


def best_threshold(probability: np.ndarray, target: np.ndarray) -> float:
    """The F1-best threshold; 0.5 when dev has too few positives to tell."""
    if target.sum() < MIN_POSITIVES_FOR_THRESHOLD:
        return 0.5
    f1 = []
    for threshold in _THRESHOLDS:
        predicted = probability >= threshold
        tp = float((predicted & (target == 1)).sum())
        f1.append(2 * tp / max(predicted.sum() + target.sum(), 1))
    return float(_THRESHOLDS[int(np.argmax(f1))])


def fit_calibration(
    presence_logits: np.ndarray,  # (n, K)
    presence_target: np.ndarray,  # (n, K) 0/1
    polarity_logits: np.ndarray,  # (n, K, P)
    polarity_target: np.ndarray,  # (n, K), -100 where absent
    sentiment_logits: np.ndarray,  # (n, S)
    sentiment_target: np.ndarray,  # (n,), -100 where unknown
) -> Calibration:
    categories = presence_logits.shape[1]
    temperatures = [
        fit_temperature_binary(presence_logits[:, k], presence_target[:, k])
        for k in range(categories)
    ]
    thresholds = [
        best_threshold(
            sigmoid(presence_logits[:, k] / temperatures[k]), presence_target[:, k]
        )
        for k in range(categories)
    ]

    known = polarity_target != -100
    polarity_t = fit_temperature_softmax(polarity_logits[known], polarity_target[known])
    has_sentiment = sentiment_target != -100
    sentiment_t = fit_temperature_softmax(
        sentiment_logits[has_sentiment], sentiment_target[has_sentiment]
    )
    return Calibration(
        presence_temperature=temperatures,
        polarity_temperature=polarity_t,
        sentiment_temperature=sentiment_t,
        thresholds=thresholds,
    )


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 15
) -> float:
    """Mean |accuracy - confidence| over equal-width bins, weighted by count."""
    if len(confidence) == 0:
        return float("nan")
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            gap = abs(correct[members].mean() - confidence[members].mean())
            error += members.mean() * gap
    return float(error)
