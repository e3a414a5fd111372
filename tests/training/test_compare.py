"""The loop closed: retrain on refined labels, compare with the previous model.

The tiny encoder and tiny data are made in the tests (tests/tiny.py); the two
models compared are the tiny fine-tuned one and the TF-IDF baseline fitted on
the same labels, and a second tiny model trained on refined labels.
"""

import json
from dataclasses import replace

import datasets
import pytest
from typer.testing import CliRunner

from labels.annotations import Annotation, read_annotations, write_annotations
from labels.taxonomy import load_label_set
from pingjia.cli import app
from training.compare import ComparisonError, compare_results, format_comparison
from training.data import hand_examples

V1 = load_label_set("1")


@pytest.fixture(scope="module")
def baseline(tiny_model):
    from training.fit import train_baseline

    _, config = tiny_model
    return train_baseline(config)


@pytest.fixture(scope="module")
def results(tiny_model, baseline, tiny_data):
    from training.fit import evaluate_models

    folder, _ = tiny_model
    data_dir, annotations = tiny_data
    return evaluate_models(
        {"previous": baseline, "model": folder}, data_dir, 0, annotations=annotations
    )


def test_compare_results_gives_the_change_per_category(results):
    comparison = compare_results(results["previous"], results["model"])

    before = results["previous"]["hand"]["per_category"]
    after = results["model"]["hand"]["per_category"]
    assert list(comparison["per_category"]) == list(V1.keys)
    for key, row in comparison["per_category"].items():
        assert row["f1_change"] == pytest.approx(after[key]["f1"] - before[key]["f1"])
    sentiment = comparison["summary"]["sentiment_accuracy"]
    assert sentiment["change"] == pytest.approx(
        sentiment["after"] - sentiment["before"]
    )
    table = format_comparison(comparison)
    assert "category F1" in table and "polarity accuracy" in table
    assert all(key in table for key in V1.keys)


def test_evaluate_models_gives_the_model_a_paired_star_margin(
    tiny_model, baseline, tiny_data, tmp_path
):
    from training.fit import evaluate_models

    folder, _ = tiny_model
    data_dir, annotations = tiny_data
    # every tiny comment is hand-labelled; half of them unlabelled leaves star
    # labels alone on some test comments
    fewer = tmp_path / "fewer.jsonl"
    write_annotations(fewer, read_annotations(annotations, V1)[::2])
    results = evaluate_models(
        {"model": folder, "previous": baseline}, data_dir, 0, annotations=fewer
    )

    rows = results["model"]["source_sentiment"]
    assert rows, "the tiny corpus has star-labelled test comments"
    for source, row in rows.items():
        other = results["previous"]["source_sentiment"][source]
        margin = row["margins"]["previous"]
        assert margin["difference"] == pytest.approx(
            row["accuracy"] - other["accuracy"]
        )
        low, high = margin["interval"]
        assert low <= margin["difference"] <= high
        assert "hits" not in row and "hits" not in other
    json.dumps(results)  # the report is written as JSON


def test_compare_results_refuses_another_label_set_version(results):
    other = {**results["previous"], "label_set_version": "2"}

    with pytest.raises(
        ComparisonError, match="expected the previous model on label set v1"
    ):
        compare_results(other, results["model"])


def test_evaluate_compare_prints_and_writes_the_change(
    tiny_model, baseline, tiny_data, tmp_path
):
    folder, _ = tiny_model
    data_dir, annotations = tiny_data
    report = tmp_path / "evaluation.json"

    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--model",
            str(folder),
            "--compare",
            str(baseline),
            "--data-dir",
            str(data_dir),
            "--annotations",
            str(annotations),
            "--per-source",
            "0",
            "--output",
            str(report),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "category F1" in result.output and "change" in result.output
    written = json.loads(report.read_text("utf-8"))
    assert set(written) == {"previous", "model", "comparison"}
    assert set(written["comparison"]["per_category"]) == set(V1.keys)


def test_train_on_refined_annotations_then_compare(tiny_model, tiny_data, tmp_path):
    # an import changed labels: every "speed" becomes undecided, one sentiment
    # is corrected; the retrained model is compared with the first one
    folder, config = tiny_model
    data_dir, annotations = tiny_data
    refined = tmp_path / "refined.jsonl"
    labels = read_annotations(annotations, V1)
    write_annotations(
        refined,
        [
            replace(
                a,
                categories={k: p for k, p in a.categories.items() if k != "speed"},
                undecided=("speed",) if "speed" in a.categories else (),
            )
            for a in labels
        ],
    )
    retrained = tmp_path / "models" / "retrained"
    runner = CliRunner()

    result = runner.invoke(
        app,
        [
            "train",
            "--output",
            str(retrained),
            "--base-encoder",
            config.base_encoder,
            "--data-dir",
            str(data_dir),
            "--annotations",
            str(refined),
            "--epochs",
            "2",
            "--weak-per-source",
            "8",
            "--weak-weight",
            "0.8",
            "--freeze-layers",
            "0",
            "--no-baseline",
        ],
    )

    assert result.exit_code == 0, result.output
    provenance = json.loads((retrained / "provenance.json").read_text("utf-8"))
    assert provenance["train_config"]["annotations"] == str(refined)
    assert provenance["train_config"]["weak_weight"] == 0.8

    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(retrained),
            "--compare",
            str(folder),
            "--data-dir",
            str(data_dir),
            "--annotations",
            str(refined),
            "--per-source",
            "0",
            "-o",  # the short spelling, as classify and the labels commands take
            str(tmp_path / "evaluation.json"),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "speed" in result.output


def test_hand_examples_mask_undecided_categories():
    v2 = load_label_set("2")
    corpus = datasets.Dataset.from_list(
        [
            {
                "id": "waimai-00000000000000c1",
                "text": "汤洒了😡",
                "source": "waimai",
                "split": "train",
            }
        ]
    )
    annotation = Annotation(
        "waimai-00000000000000c1",
        "negative",
        {"product": "negative"},
        undecided=("packaging", "order_accuracy"),
    )

    [example] = hand_examples(corpus, [annotation], v2)

    masked = {k for k, m in zip(v2.keys, example.presence_mask, strict=True) if not m}
    assert masked == {"packaging", "order_accuracy"}
    assert example.presence[v2.keys.index("product")] == 1.0


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (["--model", "/nonexistent"], "--model"),
        (["--compare", "/nonexistent"], "--compare"),
        (["--baseline", "/nonexistent"], "--baseline"),
        (["--per-source", "-1"], "--per-source"),
    ],
)
def test_evaluate_refuses_a_missing_model_before_any_work(tiny_model, option, says):
    folder, _ = tiny_model

    result = CliRunner().invoke(app, ["evaluate", "--model", str(folder), *option])

    assert result.exit_code == 2
    assert says in result.output and "Traceback" not in result.output
