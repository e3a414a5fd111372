"""pingjia ingest and pingjia store: files in, counts and bad rows out."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from model.predict import load_model
from pingjia.cli import app
from serving.records import write_records
from serving.store import FeedbackStore
from serving.store.keys import hash_key
from tests.serving.store_fixtures import labels

ROWS = [
    {"id": "r1", "text": "送得太慢了，等了两个小时", "agent_id": "a1", "rating": 1},
    {
        "id": "r2",
        "text": "骑手态度很好，很有礼貌",
        "created_at": "2026-11-04T10:00:00+08:00",
    },
    {"id": "r3", "text": "太贵了", "rating": 9},
    {"id": "r4", "text": "  "},
]


def write_jsonl(path, rows, broken: bool = False):
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    if broken:
        lines.append("{not json")
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def ingest(*args: str):
    return CliRunner().invoke(app, ["ingest", *args], catch_exceptions=False)


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'feedback.db'}"


def test_ingest_no_label_keeps_good_rows_and_lists_bad_ones(tmp_path, db):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS, broken=True)

    result = ingest(str(source), "--db", db, "--no-label")

    errors = [
        json.loads(line)
        for line in (tmp_path / "in.jsonl.errors.jsonl").read_text("utf-8").splitlines()
    ]
    assert result.exit_code == 0
    assert "row 3: rating: expected a whole number from 1 to 5, got 9" in result.stderr
    assert "2 new, 0 updated, 0 unchanged" in result.stderr
    assert "3 errors" in result.stderr
    assert [e["row"] for e in errors] == [3, 4, 5]
    assert "broken JSON" in errors[2]["reason"]
    with FeedbackStore(db) as store:
        assert store.count() == {"comments": 2, "labelled": 0, "labelings": 0}


def test_ingest_lists_a_lone_surrogate_row_in_the_errors_file(tmp_path, db):
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps(ROWS[0], ensure_ascii=False)
        + "\n"
        + json.dumps({"id": "s1", "text": "客服\ud800不回"})
        + "\n",
        "utf-8",
    )

    result = ingest(str(source), "--db", db, "--no-label")

    assert result.exit_code == 0, result.output
    lines = (tmp_path / "in.jsonl.errors.jsonl").read_text("utf-8").splitlines()
    (error,) = [json.loads(line) for line in lines]
    assert error["row"] == 2
    with FeedbackStore(db) as store:
        assert store.count()["comments"] == 1


def test_ingest_with_the_model_labels_and_is_idempotent(tmp_path, db, tiny_model):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:2])
    model = str(tiny_model[0])

    first = ingest(str(source), "--db", db, "--model", model)
    second = ingest(str(source), "--db", db, "--model", model)

    assert "2 new" in first.stderr and "labels: 2 labelled" in first.stderr
    assert "0 new, 0 updated, 2 unchanged" in second.stderr
    assert "labels: 0 labelled, 0 relabelled" in second.stderr
    with FeedbackStore(db) as store:
        found = list(store.records())
    assert {r["model_version"] for r in found} == {load_model(model).version}


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_ingest_classify_output_keeps_its_labels(tmp_path, db, suffix):
    labelled = [{**ROWS[0], **labels("old-model")}, {**ROWS[1], **labels("old-model")}]
    source = tmp_path / f"labelled{suffix}"
    write_records(str(source), labelled)  # as `pingjia classify -o` writes it

    result = ingest(str(source), "--db", db, "--no-label")

    assert result.exit_code == 0, result.output
    with FeedbackStore(db) as store:
        found = {r["id"]: r for r in store.records()}
    assert set(found) == {"r1", "r2"}
    assert found["r1"]["model_version"] == "old-model"
    assert found["r1"]["categories"][0]["label"] == "speed"
    assert found["r1"]["sentiment"] == {"label": "negative", "score": 0.91}
    assert found["r1"]["rating"] == 1 and found["r1"]["agent_id"] == "a1"


def test_ingest_new_model_relabels_with_history(tmp_path, db, tiny_model):
    old = tmp_path / "old.jsonl"
    write_jsonl(old, [{**ROWS[0], **labels("old-model")}])
    fresh = write_jsonl(tmp_path / "fresh.jsonl", ROWS[:1])

    ingest(str(old), "--db", db, "--no-label")
    result = ingest(str(fresh), "--db", db, "--model", str(tiny_model[0]))

    assert "labels: 0 labelled, 1 relabelled" in result.stderr
    with FeedbackStore(db) as store:
        assert [h["model_version"] for h in store.history("r1")][0] == "old-model"
        assert len(store.history("r1")) == 2


def test_ingest_refuses_an_unknown_format_and_a_missing_model(tmp_path, db):
    unknown = CliRunner().invoke(app, ["ingest", str(tmp_path / "in.txt"), "--db", db])
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:1])
    no_model = CliRunner().invoke(
        app, ["ingest", str(source), "--db", db, "--model", str(tmp_path / "none")]
    )

    assert unknown.exit_code == 2 and "expected a file ending in" in unknown.output
    assert no_model.exit_code == 2 and "expected a trained model" in no_model.output


def test_store_upgrade_says_the_revision(db):
    result = CliRunner().invoke(app, ["store", "upgrade", "--db", db])

    assert result.exit_code == 0
    assert "is at revision 0001 (newest: 0001)" in result.stdout


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u:p@localhost/db", "SQLite or PostgreSQL, not mysql"),
        ("not a url", "expected a store URL"),
        ("sqlite:////etc/passwd", "cannot open the feedback store"),
    ],
)
def test_store_upgrade_refuses_a_store_it_cannot_open(url, says):
    result = CliRunner().invoke(app, ["store", "upgrade", "--db", url])

    # the message comes in a box, wrapped: read it as one line
    said = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    assert result.exit_code == 2
    assert says in said and "Traceback" not in said


def test_a_report_refuses_a_store_file_that_is_not_there(tmp_path):
    missing = tmp_path / "none.db"

    result = CliRunner().invoke(
        app, ["report", "cases", "--db", f"sqlite:///{missing}", "-c", "speed"]
    )

    assert result.exit_code == 2 and "found no file" in result.output.replace("\n", " ")
    assert not missing.exists()


def test_store_hash_key_from_stdin_and_new_key(tmp_path):
    hashed = CliRunner().invoke(app, ["store", "hash-key"], input="s3cret\n")
    made = CliRunner().invoke(app, ["store", "new-key"])

    key, digest = (line.split()[-1] for line in made.stdout.splitlines()[:2])
    assert hashed.stdout.strip().endswith(hash_key("s3cret"))
    assert digest == hash_key(key) and len(key) >= 40
