import numpy as np

from training.calibrate import (
    best_threshold,
    expected_calibration_error,
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
