"""Calibration on the dev split: temperatures, thresholds, review flag."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from model.config import Calibration
from model.predict import Scores, log, logit, sigmoid, softmax

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


_SHARES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)  # the encoder never weighs less


def _micro_f1(probability: np.ndarray, target: np.ndarray, thresholds) -> float:
    predicted = probability >= np.asarray(thresholds)
    tp = float((predicted & (target == 1)).sum())
    return 2 * tp / max(float(predicted.sum() + target.sum()), 1.0)


def _accuracy(probability: np.ndarray, target: np.ndarray) -> float:
    known = target != -100
    if not known.any():
        return 0.0
    return float((probability.argmax(-1)[known] == target[known]).mean())


def fit_blend(
    encoder: Scores,
    lexical: Scores,
    presence_target: np.ndarray,  # (n, K) 0/1
    polarity_target: np.ndarray,  # (n, K), -100 where absent
    sentiment_target: np.ndarray,  # (n,), -100 where unknown
    calibration: Calibration,
) -> Calibration:
    """The lexical model's shares in the blend, the temperatures of the
    blended scores and the thresholds on them, chosen on dev. A share that does
    not beat a smaller one on dev is not taken, so a useless lexical model
    gets 0."""
    best_presence = (-1.0, 0.0)
    for share in _SHARES:
        mixed = (1 - share) * encoder.presence + share * lexical.presence
        thresholds = [
            best_threshold(mixed[:, k], presence_target[:, k])
            for k in range(mixed.shape[1])
        ]
        f1 = _micro_f1(mixed, presence_target, thresholds)
        if f1 > best_presence[0] + 1e-9:
            best_presence = (f1, share)

    best_sentiment = (-1.0, 0.0)
    for share in _SHARES:
        polarity = (1 - share) * encoder.polarity + share * lexical.polarity
        sentiment = (1 - share) * encoder.sentiment + share * lexical.sentiment
        score = _accuracy(polarity, polarity_target) + _accuracy(
            sentiment, sentiment_target
        )
        if score > best_sentiment[0] + 1e-9:
            best_sentiment = (score, share)

    a, b = best_presence[1], best_sentiment[1]
    presence = logit((1 - a) * encoder.presence + a * lexical.presence)
    presence_t = [
        fit_temperature_binary(presence[:, k], presence_target[:, k])
        for k in range(presence.shape[1])
    ]
    # A temperature keeps the order of the scores, so the decisions stay those
    # chosen above; the thresholds move with the scores.
    thresholds = [
        best_threshold(sigmoid(presence[:, k] / t), presence_target[:, k])
        for k, t in enumerate(presence_t)
    ]
    polarity = log((1 - b) * encoder.polarity + b * lexical.polarity)
    sentiment = log((1 - b) * encoder.sentiment + b * lexical.sentiment)
    known = polarity_target != -100
    has_sentiment = sentiment_target != -100
    return replace(
        calibration,
        thresholds=thresholds,
        lexical_presence=a,
        lexical_sentiment=b,
        blend_presence_temperature=presence_t,
        blend_polarity_temperature=fit_temperature_softmax(
            polarity[known], polarity_target[known]
        ),
        blend_sentiment_temperature=fit_temperature_softmax(
            sentiment[has_sentiment], sentiment_target[has_sentiment]
        ),
    )
