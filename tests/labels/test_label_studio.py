"""Label Studio round trip, against the formats its documentation gives.

The exports below are written by hand in the documented shape of a JSON export:
tasks with ``id``, ``data``, ``annotations`` (``result``, ``completed_by``,
``was_cancelled``, ...) and ``predictions``. The same round trip against a real
server is tests/labels/test_label_studio_server.py.
"""

import json
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from labels.annotations import Annotation, read_annotations
from labels.cli import app
from labels.label_studio import (
    LabelStudioError,
    export_tasks,
    labeling_config,
    read_export,
)
from labels.taxonomy import load_label_set

V2 = load_label_set("2")
COMMENTS = [
    {"id": "waimai-00000000000000a1", "text": "汤洒了，米饭也少送了一份😡"},
    {"id": "waimai-00000000000000a2", "text": "骑手很有礼貌，送得也快！"},
    {"id": "hotel-00000000000000a3", "text": "请问几点退房？"},
]


def choice(name, value, result_id="r1"):
    return {
        "id": result_id,
        "from_name": name,
        "to_name": "text",
        "type": "choices",
        "value": {"choices": [value]},
        "origin": "manual",
    }


def ls_annotation(annotation_id, user, result, cancelled=False):
    return {
        "id": annotation_id,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": "2026-03-09T21:52:49.513742Z",
        "updated_at": "2026-03-09T22:16:08.746926Z",
        "lead_time": 4.2,
        "result_count": 0,
        "task": 1,
        "completed_by": user,
    }


def ls_task(task_id, comment, annotations):
    return {
        "id": task_id,
        "created_at": "2026-03-09T21:52:49.513742Z",
        "project": 83,
        "data": {**comment, "to_decide": ""},
        "annotations": annotations,
        "predictions": [],
    }


SPILL = [
    choice("sentiment", "negative"),
    choice("packaging", "negative", "r2"),
    choice("order_accuracy", "negative", "r3"),
]
EXPORT = [
    # two annotators agree; the second is given as a user object
    ls_task(
        1,
        COMMENTS[0],
        [ls_annotation(11, 3, SPILL), ls_annotation(12, {"id": 5}, SPILL)],
    ),
    # two annotators disagree on timeliness; a third skipped the task
    ls_task(
        2,
        COMMENTS[1],
        [
            ls_annotation(
                21,
                3,
                [
                    choice("sentiment", "positive"),
                    choice("staff", "positive", "r2"),
                    choice("timeliness", "positive", "r3"),
                ],
            ),
            ls_annotation(
                22,
                5,
                [choice("sentiment", "positive"), choice("staff", "positive", "r2")],
            ),
            ls_annotation(23, 7, [], cancelled=True),
        ],
    ),
    # one annotator, no category: neutral only
    ls_task(3, COMMENTS[2], [ls_annotation(31, 3, [choice("sentiment", "neutral")])]),
]


def test_labeling_config_has_text_sentiment_and_a_choice_per_category():
    view = ET.fromstring(labeling_config(V2))

    text = view.find("Text")
    choices = {c.get("name"): c for c in view.iter("Choices")}
    assert view.tag == "View"
    assert (text.get("name"), text.get("value")) == ("text", "$text")
    assert list(choices) == ["sentiment", *V2.keys]
    assert all(c.get("toName") == "text" for c in choices.values())
    assert choices["sentiment"].get("required") == "true"
    assert choices["packaging"].get("required") == "false"  # no choice: absent
    assert [c.get("value") for c in choices["staff"]] == list(V2.polarities)
    assert "包装运输 Packaging and transit" in {
        h.get("value") for h in view.iter("Header")
    }


def test_export_tasks_carry_id_text_and_predictions_as_results():
    predictions = {
        # a labels line migrated from v1: delivery left undecided
        COMMENTS[0]["id"]: {
            "id": COMMENTS[0]["id"],
            "sentiment": "negative",
            "categories": {},
            "undecided": ["packaging", "order_accuracy"],
        },
        # a `pingjia classify` record, answered in v2
        COMMENTS[1]["id"]: {
            "id": COMMENTS[1]["id"],
            "sentiment": {"label": "positive", "score": 0.91},
            "categories": [{"label": "staff", "score": 0.8, "sentiment": "positive"}],
        },
    }

    tasks = export_tasks(COMMENTS, V2, predictions, model_version="tiny")

    assert [t["data"]["id"] for t in tasks] == [c["id"] for c in COMMENTS]
    assert tasks[0]["data"]["text"] == COMMENTS[0]["text"]
    assert "packaging, order_accuracy" in tasks[0]["data"]["to_decide"]
    assert "predictions" not in tasks[2]
    second = tasks[1]["predictions"][0]
    assert second["model_version"] == "tiny" and second["score"] == 0.91
    assert second["result"][1] == {
        "id": "t1-staff",
        "from_name": "staff",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": ["positive"]},
    }
    ids = [
        r["id"] for t in tasks for p in t.get("predictions", []) for r in p["result"]
    ]
    assert len(ids) == len(set(ids))  # Label Studio wants unique result ids


def test_export_tasks_refuses_predictions_of_another_version():
    predictions = {
        COMMENTS[0]["id"]: {
            "sentiment": "negative",
            "categories": {"delivery": "negative"},
        }
    }

    with pytest.raises(LabelStudioError, match="'delivery'.*--migrate-to 2.*migrate"):
        export_tasks(COMMENTS, V2, predictions)


@pytest.mark.parametrize(
    ("second", "says"),
    [({"id": "other", "text": "  "}, "a blank text"), ({}, "an id seen before")],
)
def test_export_tasks_refuses_a_blank_text_and_a_repeated_id(second, says):
    comments = [COMMENTS[0], {**COMMENTS[0], **second}]

    with pytest.raises(LabelStudioError, match=f"comment #2 .*{says}"):
        export_tasks(comments, V2)


def test_read_export_settles_agreement_and_lists_conflicts():
    result = read_export(EXPORT, V2)

    assert [a.id for a in result.agreed] == [COMMENTS[0]["id"], COMMENTS[2]["id"]]
    assert result.agreed[0].categories == {
        "packaging": "negative",
        "order_accuracy": "negative",
    }
    assert result.agreed[0].annotator == "ls-3+ls-5"
    assert result.cancelled == 1
    conflict = result.conflicts[0]
    assert conflict.id == COMMENTS[1]["id"]
    assert conflict.differences == {"timeliness": {"ls-3": "positive", "ls-5": "-"}}
    assert conflict.describe().endswith("timeliness ls-3=positive ls-5=-")
    assert result.report.items == 2  # tasks labelled twice


def test_read_export_without_comment_id_says_how_to_make_tasks():
    task = ls_task(9, {"text": "好"}, [])

    with pytest.raises(LabelStudioError, match="data.id.*studio tasks"):
        read_export([task], V2)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (
            [choice("sentiment", "negative"), choice("delivery", "negative")],
            "of v2",
        ),  # a v1 key
        ([choice("staff", "positive")], "expected 'sentiment'"),  # sentiment missing
        ([{**choice("staff", "positive"), "type": "labels"}], "type 'choices'"),
    ],
)
def test_read_export_names_what_does_not_fit(result, message):
    export = [ls_task(1, COMMENTS[0], [ls_annotation(11, 3, result)])]

    with pytest.raises(LabelStudioError, match=message):
        read_export(export, V2)


@pytest.mark.parametrize(
    ("export", "message"),
    [
        ({"tasks": []}, "list of tasks.*got a dict"),
        (["not a task"], "task 1: expected a task as Label Studio exports it"),
        (
            [ls_task(1, COMMENTS[0], [{"id": 1, "result": "negative"}])],
            "task 1: expected a task",
        ),
    ],
)
def test_read_export_refuses_what_label_studio_does_not_write(export, message):
    with pytest.raises(LabelStudioError, match=message):
        read_export(export, V2)


def test_read_export_settles_a_comment_in_two_tasks_once():
    labels = [choice("sentiment", "negative"), choice("staff", "negative")]
    export = [
        ls_task(1, COMMENTS[0], [ls_annotation(11, 3, labels)]),
        ls_task(2, COMMENTS[0], [ls_annotation(12, 5, labels)]),
    ]

    result = read_export(export, V2)

    assert [a.id for a in result.agreed] == [COMMENTS[0]["id"]]
    assert result.agreed[0].annotator == "ls-3+ls-5"


def test_round_trip_predictions_accepted_unchanged_give_the_same_labels():
    original = [
        Annotation(COMMENTS[0]["id"], "negative", {"packaging": "negative"}),
        Annotation(
            COMMENTS[1]["id"],
            "positive",
            {"staff": "positive", "timeliness": "positive"},
        ),
        Annotation(COMMENTS[2]["id"], "neutral", {}),
    ]
    by_id = {a.id: a.to_dict() for a in original}

    tasks = export_tasks(COMMENTS, V2, by_id)
    # an annotator submits each pre-annotation as it is
    for number, task in enumerate(tasks):
        result = task["predictions"][0]["result"]
        task |= {"id": number, "annotations": [ls_annotation(number, 1, result)]}
    back = read_export(json.loads(json.dumps(tasks)), V2)

    assert [(a.id, a.sentiment, a.categories) for a in back.agreed] == [
        (a.id, a.sentiment, a.categories) for a in original
    ]


def test_studio_cli_round_trip(tmp_path):
    runner = CliRunner()
    comments = tmp_path / "comments.jsonl"
    comments.write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in COMMENTS)
    )
    export = tmp_path / "export.json"
    export.write_text(json.dumps(EXPORT, ensure_ascii=False), "utf-8")

    config = runner.invoke(app, ["studio", "config", "--version", "2"])
    tasks = runner.invoke(
        app,
        [
            "studio",
            "tasks",
            str(comments),
            "--version",
            "2",
            "-o",
            str(tmp_path / "t.json"),
        ],
    )
    back = runner.invoke(
        app,
        ["studio", "import", str(export), "--version", "2",
         "-o", str(tmp_path / "a.jsonl"), "--conflicts", str(tmp_path / "all.jsonl")],
    )  # fmt: skip

    assert config.exit_code == 0 and config.output.startswith("<View>")
    assert tasks.exit_code == 0, tasks.output
    assert len(json.loads((tmp_path / "t.json").read_text("utf-8"))) == 3
    assert back.exit_code == 0, back.output
    assert "3 labelled tasks: 2 agreed" in back.output
    assert "1 cancelled annotations left out" in back.output
    assert "agreement of the first two annotators on 2" in back.output
    assert f"conflict {COMMENTS[1]['id']}: timeliness" in back.output
    assert len(read_annotations(tmp_path / "a.jsonl", V2)) == 2
    assert len((tmp_path / "all.jsonl").read_text("utf-8").splitlines()) == 5
