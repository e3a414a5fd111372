import json
import shutil

import numpy as np
import pytest

from model.predict import load_model, predict, resolve_precision


def test_train_writes_a_complete_model_folder(tiny_model):
    folder, config = tiny_model

    for name in (
        "model.safetensors",
        "pingjia.json",
        "calibration.json",
        "training.json",
        "provenance.json",
        "tokenizer.json",
        "encoder/config.json",
        "metrics.json",
        "README.md",
        "lexical/tfidf.joblib",
    ):
        assert (folder / name).exists(), name
    assert not folder.with_name(folder.name + ".partial").exists()
    card = (folder / "README.md").read_text("utf-8")
    assert "## Categories (label set v1)" in card
    assert f"first {config.train_window_tokens} tokens" in card
    provenance = json.loads((folder / "provenance.json").read_text("utf-8"))
    assert provenance["label_set_version"] == "1"
    assert len(provenance["train_ids_sha256"]) == 64
    assert len(provenance["train_labels_sha256"]) == 64
    assert provenance["train_labels_sha256"][:16] in card
    assert provenance["history"], "dev evaluations are recorded"
    ran = json.loads((folder / "training.json").read_text("utf-8"))["precision"]
    assert ran == resolve_precision("auto")  # as it ran, not "auto"
    assert f"encoder matmuls in {ran}" in card
    low, high = json.loads((folder / "metrics.json").read_text("utf-8"))["hand"][
        "intervals"
    ]["sentiment_accuracy"]
    assert f"(95% interval {100 * low:.1f}-{100 * high:.1f})" in card


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


def test_batched_scores_match_one_by_one_for_mixed_lengths(tiny_model):
    folder, _ = tiny_model
    model = load_model(folder)
    texts = ["好", "送得太慢了，等了两个小时" * 9, "太贵了", "很好吃" * 40, "汤洒了"]

    together = model.scores(texts, batch_size=2)
    alone = [model.scores([t]) for t in texts]

    for i, single in enumerate(alone):
        np.testing.assert_allclose(together.presence[i], single.presence[0], atol=1e-5)
        np.testing.assert_allclose(
            together.sentiment[i], single.sentiment[0], atol=1e-5
        )


def test_forward_passes_stay_within_the_token_budget(tiny_model):
    from model.predict import TOKEN_BUDGET

    folder, _ = tiny_model
    model = load_model(folder)
    texts = ["好" * n for n in (3, 5, 8, 40, 60, 100, 110, 300)] * 6
    token_ids = model.windows.token_ids(texts)
    order = np.argsort([len(t) for t in token_ids], kind="stable")

    groups = model._groups(order, token_ids, batch_size=64)

    assert sorted(i for g in groups for i in g) == list(range(len(texts)))
    for group in groups[:-1]:
        batch = model.windows.windows([token_ids[i] for i in group])
        assert len(group) == 1 or batch.input_ids.numel() <= TOKEN_BUDGET


def test_a_model_folder_without_its_calibration_is_refused(tiny_model, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(tiny_model[0], folder)
    (folder / "calibration.json").unlink()

    with pytest.raises(FileNotFoundError, match="copy the whole model folder"):
        load_model(folder)


def test_labels_hash_changes_with_the_labels_not_the_order():
    from dataclasses import replace

    from training.data import Example, ids_hash, labels_hash

    one = Example("w-1", "好", "waimai", "train", True, [1.0], [1.0], [0], 0)
    two = Example("w-2", "差", "waimai", "train", True, [0.0], [1.0], [-100], 1)
    relabelled = replace(two, sentiment=2)

    assert labels_hash([one, two]) == labels_hash([two, one])
    assert labels_hash([one, two]) != labels_hash([one, relabelled])
    assert ids_hash([one.id, two.id]) == ids_hash([one.id, relabelled.id])


def test_a_model_that_blends_refuses_to_load_without_its_lexical_part(
    tiny_model, tmp_path
):
    folder, _ = tiny_model
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    calibration = json.loads((copy / "calibration.json").read_text("utf-8"))
    calibration["lexical_presence"] = 0.3
    (copy / "calibration.json").write_text(json.dumps(calibration), "utf-8")
    shutil.rmtree(copy / "lexical")

    with pytest.raises(FileNotFoundError, match="lexical model this model blends"):
        load_model(copy)


def _broken_copy(tiny_model, tmp_path, name, change):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model[0], copy)
    fields = json.loads((copy / name).read_text("utf-8"))
    change(fields)
    (copy / name).write_text(json.dumps(fields), "utf-8")
    return copy


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(lexical_presence="0.4"), "lexical_presence from 0 to 1"),
        (lambda c: c.update(lexical_sentiment=-0.5), "lexical_sentiment from 0 to 1"),
        (lambda c: c.update(sentiment_temperature=0), "temperatures above 0"),
        (lambda c: c.update(thresholds=[2.0] * 7), "thresholds from 0 to 1"),
        (lambda c: c.update(colour="red"), "unexpected keyword"),
    ],
)
def test_a_broken_calibration_names_its_file_and_the_fix(
    tiny_model, tmp_path, change, message
):
    copy = _broken_copy(tiny_model, tmp_path, "calibration.json", change)

    with pytest.raises(ValueError, match=message) as error:
        load_model(copy)
    assert "calibration.json" in str(error.value)
    assert "copy the whole model folder" in str(error.value)


def test_a_truncated_calibration_names_its_file(tiny_model, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model[0], copy)
    (copy / "calibration.json").write_text('{"thresholds": [', "utf-8")

    with pytest.raises(ValueError, match="calibration.json.*not a valid model file"):
        load_model(copy)


def test_weights_that_do_not_fit_the_pooling_say_which_to_set(tiny_model, tmp_path):
    copy = _broken_copy(
        tiny_model, tmp_path, "pingjia.json", lambda c: c.pop("pooling")
    )

    with pytest.raises(ValueError, match='set "pooling": "category_attention"'):
        load_model(copy)


def test_the_baseline_saved_from_the_lexical_part_is_the_one_a_fit_gives(
    tiny_model, tmp_path
):
    from dataclasses import replace

    from training.fit import train_baseline

    folder, config = tiny_model
    texts = ["送得太慢了，等了两个小时", "骑手态度很好", "太贵了"]
    copied = train_baseline(
        replace(config, output=str(tmp_path / "a" / "m")), folder / "lexical"
    )
    fitted = train_baseline(replace(config, output=str(tmp_path / "b" / "m")))

    a, b = load_model(copied), load_model(fitted)
    assert a.version.startswith("tfidf-v1-") and a.version != "tfidf-v1-lexical"
    assert np.allclose(a.scores(texts).presence, b.scores(texts).presence)
    assert np.allclose(a.scores(texts).sentiment, b.scores(texts).sentiment)


def test_a_model_trained_without_the_query_prefix_reads_without_it(
    tiny_model, tmp_path
):
    from training.config import TrainConfig
    from training.fit import train

    _, config = tiny_model
    settings = {**config.__dict__, "output": str(tmp_path / "bare"), "epochs": 2}
    folder = train(TrainConfig(**{**settings, "query_prefix": ""}))

    model = load_model(folder)
    ids = model.windows.token_ids(["送餐很快"])[0]
    batch = model.windows.windows([ids])
    assert model.config.query_prefix == "" and model.windows.prefix_ids == []
    assert batch.input_ids.shape[1] == len(ids) + 2  # <s> comment </s>
    assert len(load_model(config.output).windows.prefix_ids) > 0  # the default


def test_a_model_trained_on_fewer_encoder_layers_loads_with_them(tiny_model, tmp_path):
    from training.config import TrainConfig
    from training.fit import train

    _, config = tiny_model
    settings = {**config.__dict__, "output": str(tmp_path / "shallow"), "epochs": 2}
    folder = train(TrainConfig(**{**settings, "encoder_layers": 1}))

    model = load_model(folder)
    encoder_config = json.loads((folder / "encoder/config.json").read_text("utf-8"))
    assert encoder_config["num_hidden_layers"] == 1
    assert len(model.module.encoder.encoder.layer) == 1
    assert len(load_model(config.output).module.encoder.encoder.layer) == 2
    assert len(predict(model, ["送得太慢了", "很好吃"])) == 2
    assert "its lowest 1 layers only" in (folder / "README.md").read_text("utf-8")


def test_more_encoder_layers_than_the_encoder_has_are_refused(tiny_model, tmp_path):
    from training.config import TrainConfig
    from training.fit import train

    _, config = tiny_model
    settings = {**config.__dict__, "output": str(tmp_path / "deep")}
    with pytest.raises(ValueError, match="encoder_layers from 0 to 2.*got 3"):
        train(TrainConfig(**{**settings, "encoder_layers": 3}))
