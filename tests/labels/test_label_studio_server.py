"""The round trip against a real Label Studio server.

Run by ``scripts/label_studio_check.sh``, which installs Label Studio in its own
virtual environment, starts it on loopback with a user and an API token, and
sets ``PINGJIA_LABEL_STUDIO_URL`` and ``PINGJIA_LABEL_STUDIO_TOKEN``. The
comments are written here, not read from shared/data.
"""

import json
import os
import uuid

import pytest
from typer.testing import CliRunner

from labels.annotations import read_annotations
from labels.cli import app
from labels.taxonomy import load_label_set

httpx = pytest.importorskip("httpx", reason="httpx (a dev dependency) talks to it.")

URL = os.environ.get("PINGJIA_LABEL_STUDIO_URL", "")
TOKEN = os.environ.get("PINGJIA_LABEL_STUDIO_TOKEN", "")

pytestmark = [
    pytest.mark.label_studio,
    pytest.mark.skipif(
        not (URL and TOKEN),
        reason="No Label Studio server to talk to: run scripts/label_studio_check.sh, "
        "or set PINGJIA_LABEL_STUDIO_URL and PINGJIA_LABEL_STUDIO_TOKEN.",
    ),
]

V2 = load_label_set("2")
COMMENTS = [
    {"id": "waimai-00000000000000d1", "text": "汤洒了一半，筷子也没给😡"},
    {"id": "waimai-00000000000000d2", "text": "骑手很有礼貌，送得也快！"},
    {"id": "hotel-00000000000000d3", "text": "请问几点退房？"},
]


@pytest.fixture
def client():
    with httpx.Client(
        base_url=URL, headers={"Authorization": f"Token {TOKEN}"}, timeout=60
    ) as client:
        yield client


@pytest.fixture
def project(client, tmp_path):
    config = tmp_path / "config.xml"
    result = CliRunner().invoke(
        app, ["studio", "config", "--version", "2", "-o", str(config)]
    )
    assert result.exit_code == 0, result.output

    response = client.post(
        "/api/projects",
        json={
            "title": f"pingjia-check-{uuid.uuid4().hex[:8]}",
            "label_config": config.read_text("utf-8"),
        },
    )
    assert response.status_code == 201, response.text
    project = response.json()["id"]
    yield project
    client.delete(f"/api/projects/{project}")


def push_tasks(client, project, tmp_path) -> list[dict]:
    comments = tmp_path / "comments.jsonl"
    comments.write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in COMMENTS), "utf-8"
    )
    predicted = tmp_path / "predicted.jsonl"
    predicted.write_text(
        json.dumps(
            {
                "id": COMMENTS[0]["id"],
                "sentiment": {"label": "negative", "score": 0.91},
                "categories": [
                    {
                        "label": "packaging",
                        "score": 0.8,
                        "sentiment": "negative",
                        "sentiment_score": 0.9,
                    },
                ],
                "undecided": ["order_accuracy"],
            }
        )
        + "\n",
        "utf-8",
    )
    tasks = tmp_path / "tasks.json"
    result = CliRunner().invoke(
        app,
        [
            "studio",
            "tasks",
            str(comments),
            "--version",
            "2",
            "--predictions",
            str(predicted),
            "--order",
            "input",
            "-o",
            str(tasks),
        ],
    )
    assert result.exit_code == 0, result.output

    response = client.post(
        f"/api/projects/{project}/import",
        content=tasks.read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["task_count"] == len(COMMENTS)
    listed = client.get("/api/tasks", params={"project": project, "fields": "all"})
    assert listed.status_code == 200, listed.text
    return listed.json()["tasks"]


def annotate(client, task: dict, choices: dict[str, str]) -> None:
    result = [
        {
            "from_name": name,
            "to_name": "text",
            "type": "choices",
            "value": {"choices": [value]},
        }
        for name, value in choices.items()
    ]
    response = client.post(
        f"/api/tasks/{task['id']}/annotations", json={"result": result}
    )
    assert response.status_code == 201, response.text


def test_round_trip_through_a_real_server(client, project, tmp_path):
    tasks = push_tasks(client, project, tmp_path)
    by_comment = {t["data"]["id"]: t for t in tasks}
    spilled = by_comment[COMMENTS[0]["id"]]
    assert spilled["data"]["to_decide"] == "请判断 decide: order_accuracy"
    assert spilled["predictions"], "the pre-annotation was accepted"

    annotate(
        client,
        spilled,
        {
            "sentiment": "negative",
            "packaging": "negative",
            "order_accuracy": "negative",
        },
    )
    annotate(
        client,
        by_comment[COMMENTS[1]["id"]],
        {"sentiment": "positive", "staff": "positive", "timeliness": "positive"},
    )
    export = client.get(
        f"/api/projects/{project}/export",
        params={"exportType": "JSON", "download_all_tasks": "true"},
    )
    assert export.status_code == 200, export.text
    exported = tmp_path / "export.json"
    exported.write_bytes(export.content)
    agreed = tmp_path / "agreed.jsonl"

    result = CliRunner().invoke(
        app,
        ["studio", "import", str(exported), "--version", "2", "-o", str(agreed)],
    )

    assert result.exit_code == 0, result.output
    labels = {a.id: a for a in read_annotations(agreed, V2)}
    assert set(labels) == {COMMENTS[0]["id"], COMMENTS[1]["id"]}
    assert labels[COMMENTS[0]["id"]].categories == {
        "packaging": "negative",
        "order_accuracy": "negative",
    }
    assert labels[COMMENTS[1]["id"]].sentiment == "positive"
    assert labels[COMMENTS[1]["id"]].annotator.startswith("ls-")
    assert "1 without annotations" in result.output
