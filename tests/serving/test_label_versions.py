"""A service configured for one label-set version and a model trained on another."""

import pytest
from fastapi.testclient import TestClient

from labels.migrate import migration_path
from model.predict import load_model
from serving.app import create_app
from serving.label_versions import LabelSetMismatch, map_record, plan_label_sets
from serving.settings import ServingSettings

V1_TO_V2 = migration_path("1", "2")


def category(label, score, sentiment, sentiment_score=0.9):
    return {
        "label": label,
        "score": score,
        "sentiment": sentiment,
        "sentiment_score": sentiment_score,
    }


def test_plan_label_sets_same_or_unset_version_needs_no_migration():
    assert plan_label_sets("1", None, "m") is None
    assert plan_label_sets("2", "2", "m") is None


def test_plan_label_sets_older_model_is_migrated():
    assert plan_label_sets("1", "2", "m").target.version == "2"


@pytest.mark.parametrize(
    ("model", "service", "reason"),
    [
        ("2", "1", "v2 is not among the versions v1 descends from"),  # backwards
        ("1", "9", "expected label set v9"),  # no such version
    ],
)
def test_plan_label_sets_refuses_model_no_migration_covers(model, service, reason):
    with pytest.raises(LabelSetMismatch) as error:
        plan_label_sets(model, service, "/models/m")

    message = str(error.value)
    assert f"expected a model trained on label set v{service}" in message
    assert f"got one trained on v{model} at /models/m" in message
    assert reason in message
    assert f"PINGJIA_LABEL_SET_VERSION={model}" in message


def test_map_record_renames_merges_and_reports_split_as_undecided():
    record = {
        "sentiment": {"label": "negative", "score": 0.8},
        "categories": [
            category("attitude", 0.7, "negative", 0.6),
            category("professionalism", 0.9, "negative", 0.8),
            category("speed", 0.95, "negative"),
            category("delivery", 0.66, "negative"),
        ],
        "review": False,
        "truncated": False,
    }

    mapped = map_record(record, V1_TO_V2)

    assert mapped["categories"] == [
        category("staff", 0.9, "negative", 0.8),
        category("timeliness", 0.95, "negative"),
    ]
    assert mapped["undecided"] == [
        {"label": "packaging", "score": 0.66},
        {"label": "order_accuracy", "score": 0.66},
    ]
    assert mapped["sentiment"] == record["sentiment"]


def test_map_record_merge_of_opposite_polarities_is_neutral_with_weakest_score():
    record = {
        "categories": [
            category("attitude", 0.7, "positive", 0.6),
            category("professionalism", 0.9, "negative", 0.8),
        ]
    }

    assert map_record(record, V1_TO_V2)["categories"] == [
        category("staff", 0.9, "neutral", 0.6)
    ]


def test_service_for_v2_answers_a_v1_model_in_v2_categories(tiny_model):
    settings = ServingSettings(model_path=tiny_model[0], label_set_version="2")
    comments = [{"text": "汤洒了一半，包装太差"}, {"text": "骑手态度很好，很有礼貌"}]

    with TestClient(create_app(settings)) as client:
        body = client.post("/v1/classify", json={"comments": comments}).json()
        labels = client.get("/v1/labels").json()
        card = client.get("/v1/model").json()

    v2_keys = {c["key"] for c in labels["categories"]}
    assert body["label_set_version"] == "2" and body["migrated_from"] == "1"
    assert labels["version"] == "2"
    assert card["label_set_version"] == "1"
    assert card["served_label_set_version"] == "2"
    for result in body["results"]:
        assert {c["label"] for c in result["categories"]} <= v2_keys
        assert {u["label"] for u in result["undecided"]} <= {
            "packaging",
            "order_accuracy",
        }


def test_service_for_v1_refuses_a_v2_model(tiny_model):
    model = load_model(tiny_model[0])
    model.config.label_set_version = "2"  # as if trained on v2
    settings = ServingSettings(model_path=tiny_model[0], label_set_version="1")

    with (
        pytest.raises(
            LabelSetMismatch, match="expected a model trained on label set v1"
        ),
        TestClient(create_app(settings, model=model)),
    ):
        pass


def test_service_without_a_version_answers_in_the_models(tiny_model):
    settings = ServingSettings(model_path=tiny_model[0])

    with TestClient(create_app(settings)) as client:
        body = client.post("/v1/classify", json={"comments": [{"text": "太贵了"}]})

    assert body.json()["label_set_version"] == "1"
    assert body.json()["migrated_from"] is None
    assert body.json()["results"][0]["undecided"] == []


def test_serve_refuses_before_starting_a_model_no_migration_covers(tmp_path):
    import typer

    from labels.taxonomy import load_label_set
    from model.config import ClassifierConfig
    from serving.cli import check_label_set

    v2 = load_label_set("2")
    ClassifierConfig(
        base_encoder="tiny",
        label_set_version="2",
        categories=list(v2.keys),
        polarities=list(v2.polarities),
        sentiments=list(v2.sentiments),
    ).save(tmp_path)

    with pytest.raises(typer.BadParameter, match="trained on v2 at"):
        check_label_set(ServingSettings(model_path=tmp_path, label_set_version="1"))
    check_label_set(ServingSettings(model_path=tmp_path, label_set_version="2"))
