import numpy as np

from model.config import Calibration
from model.predict import Scores, blend
from training.calibrate import (
    best_threshold,
    expected_calibration_error,
    fit_blend,
    fit_temperature_binary,
    fit_temperature_softmax,
)


def test_fit_temperature_binary_softens_overconfident_logits():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 2, 4000)
    # Right 75% of the time but with logits of +-6 (99.8% confidence).
    right = rng.random(4000) < 0.75
    logits = np.where(target == right, 6.0, -6.0)

    assert fit_temperature_binary(logits, target) > 3.0


def test_fit_temperature_softmax_keeps_calibrated_logits_near_one():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5000, 3)) * 2
    probability = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    target = np.array([rng.choice(3, p=p) for p in probability])

    assert 0.8 < fit_temperature_softmax(logits, target) < 1.25


def test_best_threshold_prefers_the_f1_optimum():
    probability = np.array([0.9, 0.8, 0.35, 0.3, 0.2, 0.1, 0.05])
    target = np.array([1, 1, 1, 1, 1, 0, 0])

    assert best_threshold(probability, target) <= 0.2


def test_best_threshold_with_too_few_positives_is_one_half():
    assert best_threshold(np.array([0.9, 0.1, 0.2]), np.array([1, 0, 0])) == 0.5


def test_expected_calibration_error_zero_when_confidence_matches():
    confidence = np.array([0.8] * 10)
    correct = np.array([1] * 8 + [0] * 2)

    assert expected_calibration_error(confidence, correct) < 1e-9
    assert expected_calibration_error(np.array([1.0] * 10), correct) > 0.19


def _dev(rng, n=600, k=3):
    presence = (rng.random((n, k)) < 0.3).astype(float)
    polarity = np.where(presence == 1, rng.integers(0, 3, (n, k)), -100)
    sentiment = rng.integers(0, 3, n)
    return presence, polarity, sentiment


def _scores(rng, presence, polarity, sentiment, quality):
    """Scores right with probability ``quality``, sure of themselves at random:
    two such models with independent errors are better together."""
    n, k = presence.shape
    sure = rng.uniform(0.5, 1.0, (n, k))
    right = rng.random((n, k)) < quality
    p = np.where(right == (presence == 1), sure, 1 - sure)
    pol = np.full((n, k, 3), 0.0)
    guess = np.where(rng.random((n, k)) < quality, np.maximum(polarity, 0), 0)
    np.put_along_axis(pol, guess[..., None], sure[..., None], axis=-1)
    pol = pol + (1 - pol.sum(-1, keepdims=True)) / 3
    sent_sure = rng.uniform(0.34, 1.0, n)
    sent = np.repeat(((1 - sent_sure) / 2)[:, None], 3, axis=1)
    sent_guess = np.where(rng.random(n) < quality, sentiment, (sentiment + 1) % 3)
    sent[np.arange(n), sent_guess] = sent_sure
    return Scores(p, pol, sent, np.zeros(n, dtype=bool))


def test_fit_blend_gives_a_useless_lexical_model_no_share():
    rng = np.random.default_rng(3)
    presence, polarity, sentiment = _dev(rng)
    encoder = _scores(rng, presence, polarity, sentiment, 0.9)
    noise = _scores(rng, presence, polarity, sentiment, 0.34)

    fitted = fit_blend(
        encoder, noise, presence, polarity, sentiment, Calibration.identity(3)
    )

    assert fitted.lexical_presence == 0.0 and fitted.lexical_sentiment == 0.0
    assert not fitted.blends_lexical


def test_fit_blend_takes_a_share_of_a_model_that_knows_other_things():
    rng = np.random.default_rng(4)
    presence, polarity, sentiment = _dev(rng)
    encoder = _scores(rng, presence, polarity, sentiment, 0.75)
    lexical = _scores(rng, presence, polarity, sentiment, 0.75)  # independent errors

    fitted = fit_blend(
        encoder, lexical, presence, polarity, sentiment, Calibration.identity(3)
    )

    assert fitted.lexical_presence > 0 and fitted.lexical_sentiment > 0
    blended = blend(encoder, lexical, fitted)
    alone = (encoder.presence >= 0.5) == (presence == 1)
    together = (blended.presence >= np.array(fitted.thresholds)) == (presence == 1)
    assert together.mean() > alone.mean()
    assert np.allclose(blended.sentiment.sum(-1), 1.0)
