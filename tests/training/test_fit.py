import json

import numpy as np

from model.predict import load_model, predict


def test_train_writes_a_complete_model_folder(tiny_model):
    folder, _ = tiny_model

    for name in (
        "model.safetensors",
        "pingjia.json",
        "calibration.json",
        "training.json",
        "provenance.json",
        "tokenizer.json",
        "encoder/config.json",
        "README.md",
    ):
        assert (folder / name).exists(), name
    provenance = json.loads((folder / "provenance.json").read_text("utf-8"))
    assert provenance["label_set_version"] == "1"
    assert len(provenance["train_ids_sha256"]) == 64
    assert provenance["history"], "dev evaluations are recorded"


def test_train_is_reproducible_with_the_same_seed(tiny_model, tmp_path):
    from training.config import TrainConfig
    from training.fit import train

    folder, config = tiny_model
    again = train(TrainConfig(**{**config.__dict__, "output": str(tmp_path / "again")}))

    first = load_model(folder).scores(["送餐很快，味道很好", "太贵了"])
    second = load_model(again).scores(["送餐很快，味道很好", "太贵了"])
    np.testing.assert_allclose(first.sentiment, second.sentiment, atol=1e-5)
    np.testing.assert_allclose(first.presence, second.presence, atol=1e-5)


def test_trained_model_predicts_in_the_output_shape(tiny_model):
    folder, _ = tiny_model
    model = load_model(folder)

    # The last one needs more than max_windows (16) windows of the tiny encoder.
    records = predict(model, ["送得太慢了", "很好吃😋，下次还点！！", "好" * 3000])

    assert [
        r["sentiment"]["label"] in ("positive", "negative", "neutral") for r in records
    ] == [True] * 3
    for record in records:
        assert 0 <= record["sentiment"]["score"] <= 1
        for category in record["categories"]:
            assert category["label"] in model.config.categories
            assert category["sentiment"] in ("positive", "negative", "neutral")
    assert [r["truncated"] for r in records] == [False, False, True]


def test_trained_model_learns_the_tiny_data(tiny_model):
    folder, _ = tiny_model
    model = load_model(folder)

    scores = model.scores(["送得太慢了，等了两个小时", "骑手态度很好，很有礼貌"])
    speed = model.config.categories.index("speed")
    attitude = model.config.categories.index("attitude")

    assert scores.presence[0, speed] > scores.presence[1, speed]
    assert scores.presence[1, attitude] > scores.presence[0, attitude]
