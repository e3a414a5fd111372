import numpy as np
import pytest
from sklearn.metrics import f1_score

from training.data import IGNORE, Example
from training.evaluate import (
    add_margins,
    format_report,
    interval,
    micro_f1,
    star_agreement,
)


def _example(id: str, source: str, sentiment: int, hand: bool) -> Example:
    return Example(id, "", source, "test", hand, [], [], [], sentiment)


def test_star_agreement_counts_neutral_as_disagreement_and_skips_unrated():
    positive, negative, neutral = 0, 1, 2
    hand = [
        _example("h-1", "hotel", negative, True),  # the stars say positive
        _example("h-2", "hotel", positive, True),
        _example("h-3", "hotel", neutral, True),  # stars have no neutral
        _example("h-4", "hotel", IGNORE, True),  # no hand sentiment: skipped
        _example("h-5", "hotel", positive, True),  # no star label: skipped
        _example("w-1", "waimai", negative, True),
        _example("x-1", "helpdesk", negative, True),  # no star source
    ]
    star = [
        _example("h-1", "hotel", positive, False),
        _example("h-2", "hotel", positive, False),
        _example("h-3", "hotel", negative, False),
        _example("h-4", "hotel", positive, False),
        _example("w-1", "waimai", negative, False),
    ]

    agreement = star_agreement(hand, star)

    assert agreement == {
        "waimai": {"examples": 1, "agreement": 1.0},
        "hotel": {"examples": 3, "agreement": 1 / 3},
    }


def test_micro_f1_matches_scikit_learn():
    rng = np.random.default_rng(3)
    truth = rng.random((200, 7)) < 0.2
    predicted = rng.random((200, 7)) < 0.25

    assert micro_f1(truth, predicted) == pytest.approx(
        f1_score(truth, predicted, average="micro")
    )


def test_interval_brackets_the_figure_and_narrows_with_more_comments():
    def width(rows: int) -> float:
        hit = np.arange(rows) % 5 != 0  # 80% right
        low, high = interval(lambda i: float(hit[i].mean()), rows)
        assert low < 0.8 < high
        assert interval(lambda i: float(hit[i].mean()), rows) == [low, high]
        return high - low

    assert width(5000) < width(500) / 2


FIGURES = {"presence_micro_f1": 0.84, "presence_macro_f1": 0.7}
FIGURES |= {"sentiment_accuracy": 0.9, "sentiment_macro_f1": 0.8}
FIGURES |= {"per_category": {}, "per_source": {}, "polarity_accuracy": 0.9}
FIGURES |= {"ece_sentiment": 0.04, "ece_presence": 0.02}


def test_report_prints_intervals_and_a_dash_for_a_report_without_them():
    figures = FIGURES
    new = {"presence_micro_f1": [0.81, 0.87], "sentiment_accuracy": [0.88, 0.93]}
    results = {
        "model": {"hand": {**figures, "intervals": new}},
        "older": {"hand": figures},
    }

    report = format_report(results).splitlines()

    spread = [line for line in report if "95% interval" in line]
    assert spread[0].split()[-2:] == ["0.810-0.870", "-"]
    assert spread[1].split()[-2:] == ["0.880-0.930", "-"]


def _star(hits: np.ndarray, version: str = "1") -> dict:
    row = {"examples": len(hits), "accuracy": float(hits.mean()), "hits": hits}
    return {"label_set_version": version, "source_sentiment": {"hotel": row}}


def test_margin_interval_is_paired_so_a_steady_lead_is_told_from_noise():
    # Both are right on the same 800 of 1,000 comments; the model also on 30
    # of the baseline's misses: a lead of 0.03 on every resample.
    rng = np.random.default_rng(1)
    shared = rng.permutation(np.arange(1000) < 800)
    extra = np.flatnonzero(~shared)[:30]
    model_hits = shared.copy()
    model_hits[extra] = True
    results = {
        "model": _star(model_hits),
        "baseline": _star(shared),
        "other-labels": _star(shared, version="2"),
    }

    add_margins(results)

    margin = results["model"]["source_sentiment"]["hotel"]["margins"]
    assert list(margin) == ["baseline"]  # another label set is not paired
    assert margin["baseline"]["difference"] == pytest.approx(0.03)
    low, high = margin["baseline"]["interval"]
    assert 0.015 < low < 0.03 < high < 0.045  # the accuracies' own span ~0.05
    assert all("hits" not in r["source_sentiment"]["hotel"] for r in results.values())

    for name in results:
        results[name]["hand"] = FIGURES
        results[name]["source_sentiment"]["hotel"]["interval"] = [0.7, 0.9]
    report = format_report(results)
    line = next(x for x in report.splitlines() if "margin over baseline" in x)
    assert line.split()[-3:] == ["0.030", "-", "-"]
