"""Batch relabeling with the tiny model: streaming, bad rows, resume, formats."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from model.predict import load_model
from serving.relabel import (
    Chunk,
    JobMismatch,
    JobState,
    RelabelOptions,
    fingerprint,
    label_chunk,
    relabel,
)
from serving.sources import Row

PINGJIA = str(Path(sys.executable).with_name("pingjia"))
TEXTS = [
    "送得太慢了",
    "很好吃😋",
    "汤洒了一半，包装太差",
    "客服半天不回",
    "太贵了",
    "骑手态度很好，很有礼貌",
]


def _write_jsonl(path, count, bad=()):
    lines = []
    for i in range(count):
        lines.append(
            json.dumps(
                {"id": f"c{i}", "text": TEXTS[i % len(TEXTS)], "agent": f"a{i % 3}"},
                ensure_ascii=False,
            )
        )
    for position, line in bad:
        lines.insert(position, line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ids(path):
    return [json.loads(line)["id"] for line in path.read_text("utf-8").splitlines()]


def test_relabel_jsonl_keeps_every_good_row_once_and_lists_bad_ones(
    tiny_model, tmp_path
):
    source = _write_jsonl(
        tmp_path / "in.jsonl",
        25,
        bad=[
            (3, '{"id": "broken", "text": '),
            (7, json.dumps({"id": "empty", "text": ""})),
            (9, json.dumps({"id": "none"})),
        ],
    )
    output = tmp_path / "out.jsonl"

    totals = relabel(
        RelabelOptions(
            str(source), str(output), model=str(tiny_model[0]), chunk_rows=4
        ),
        progress=False,
    )

    assert _ids(output) == [f"c{i}" for i in range(25)]
    record = json.loads(output.read_text("utf-8").splitlines()[0])
    assert (
        record["agent"] == "a0" and "categories" in record and record["model_version"]
    )
    errors = [
        json.loads(x)
        for x in (tmp_path / "out.jsonl.errors.jsonl").read_text("utf-8").splitlines()
    ]
    assert [e["row"] for e in errors] == [4, 8, 10]
    assert errors[0]["reason"].startswith("broken JSON")
    assert (totals.rows, totals.labelled, totals.errors) == (28, 25, 3)
    assert sum(totals.sentiment.values()) == 25
    assert not (tmp_path / "out.jsonl.relabel-state").exists()


def test_relabel_gbk_csv_detected_and_undecodable_line_reported(tiny_model, tmp_path):
    source = tmp_path / "export.csv"
    body = "id,text\n1,送得太慢了\n2,很好吃\n".encode("gbk")
    body += b"3,\xff\xfe\xfa\n" + "4,太贵了\n".encode("gbk")
    source.write_bytes(body)
    output = tmp_path / "out.csv"

    relabel(
        RelabelOptions(str(source), str(output), model=str(tiny_model[0])),
        progress=False,
    )

    frame = pd.read_csv(output, dtype=str)
    assert frame["text"].tolist() == ["送得太慢了", "很好吃", "太贵了"]
    errors = (tmp_path / "out.csv.errors.jsonl").read_text("utf-8")
    assert "not valid gb18030" in errors


def test_relabel_folder_of_shards_to_folder_and_parquet(tiny_model, tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    _write_jsonl(shards / "a.jsonl", 5)
    pd.DataFrame({"id": ["p0", "p1"], "text": ["太贵了", "退款很顺利"]}).to_parquet(
        shards / "b.parquet"
    )

    relabel(
        RelabelOptions(
            str(shards), str(tmp_path / "out"), model=str(tiny_model[0]), chunk_rows=3
        ),
        progress=False,
    )
    relabel(
        RelabelOptions(
            str(shards), str(tmp_path / "out.parquet"), model=str(tiny_model[0])
        ),
        progress=False,
    )

    parts = sorted((tmp_path / "out").glob("part-*.jsonl"))
    ids = [i for part in parts for i in _ids(part)]
    assert ids == ["c0", "c1", "c2", "c3", "c4", "p0", "p1"]
    frame = pd.read_parquet(tmp_path / "out.parquet")
    assert frame["id"].tolist() == ids
    assert json.loads(frame["sentiment"][0])["label"] in (
        "positive",
        "negative",
        "neutral",
    )


def test_relabel_resumes_after_a_crash_without_duplicates(
    tiny_model, tmp_path, monkeypatch
):
    import serving.relabel as job

    source = _write_jsonl(tmp_path / "in.jsonl", 30)
    output = tmp_path / "out.jsonl"
    options = RelabelOptions(
        str(source), str(output), model=str(tiny_model[0]), chunk_rows=4
    )
    real = job.label_chunk
    calls = {"n": 0}

    def crash_on_fourth(chunk, labeller, needs_text):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")
        return real(chunk, labeller, needs_text)

    monkeypatch.setattr(job, "label_chunk", crash_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        relabel(options, progress=False)
    assert not output.exists()  # nothing under the final name yet
    monkeypatch.setattr(job, "label_chunk", real)

    relabel(options, progress=False)

    assert _ids(output) == [f"c{i}" for i in range(30)]


def test_relabel_survives_sigkill_and_the_same_command_finishes(tiny_model, tmp_path):
    source = _write_jsonl(tmp_path / "in.jsonl", 400)
    output = tmp_path / "out.jsonl"
    command = [
        PINGJIA,
        "relabel",
        str(source),
        "-o",
        str(output),
        "--model",
        str(tiny_model[0]),
        "--chunk-rows",
        "5",
    ]
    state = tmp_path / "out.jsonl.relabel-state"

    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while len(list(state.glob("part-*.jsonl"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not output.exists()

    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)

    assert finished.returncode == 0, finished.stderr
    assert _ids(output) == [f"c{i}" for i in range(400)]


def _labelled(record_id, sentiment, categories, version="1"):
    return {
        "id": record_id,
        "text": "送得太慢了",
        "label_set_version": version,
        "sentiment": {"label": sentiment, "score": 0.9},
        "categories": [
            {"label": k, "score": 0.9, "sentiment": p, "sentiment_score": 0.9}
            for k, p in categories.items()
        ],
    }


def test_relabel_diff_counts_added_removed_flipped_and_sentiment():
    before = _labelled(
        "x1",
        "positive",
        {"price": "positive", "speed": "positive", "attitude": "negative"},
    )
    after = _labelled(
        "x1",
        "negative",
        {"speed": "negative", "delivery": "negative", "attitude": "negative"},
    )
    chunk = Chunk(0, [Row("in.jsonl", 1, record=before)])

    _, _, stats = label_chunk(chunk, lambda records: [after], needs_text=True)

    assert dict(stats.changes) == {
        "price:removed": 1,
        "speed:flipped": 1,
        "delivery:added": 1,
        "sentiment:changed": 1,
    }
    assert stats.examples["speed:flipped"] == ["x1"]


def test_relabel_diff_compares_in_the_new_version_so_a_rename_is_no_change():
    before = _labelled("x2", "negative", {"speed": "negative", "price": "negative"})
    after = _labelled(
        "x2", "negative", {"timeliness": "negative", "price": "positive"}, version="2"
    )
    chunk = Chunk(0, [Row("in.jsonl", 1, record=before)])

    _, _, stats = label_chunk(chunk, lambda records: [after], needs_text=True)

    assert dict(stats.changes) == {"price:flipped": 1}


def test_relabel_reports_changes_against_existing_labels(tiny_model, tmp_path):
    source = tmp_path / "in.jsonl"
    record = _labelled("x1", "positive", {"price": "positive"})
    source.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")

    totals = relabel(
        RelabelOptions(
            str(source), str(tmp_path / "o.jsonl"), model=str(tiny_model[0])
        ),
        progress=False,
    )

    out = json.loads((tmp_path / "o.jsonl").read_text("utf-8"))
    now = {c["label"]: c["sentiment"] for c in out["categories"]}
    expected = {f"{k}:added" for k in now.keys() - {"price"}}
    if "price" not in now:
        expected.add("price:removed")
    elif now["price"] != "positive":
        expected.add("price:flipped")
    if out["sentiment"]["label"] != "positive":
        expected.add("sentiment:changed")
    assert set(totals.changes) == expected
    assert all(totals.examples[change] == ["x1"] for change in expected)
    summary = json.loads((tmp_path / "o.jsonl.summary.json").read_text("utf-8"))
    assert set(summary["changes"]) == expected


def test_relabel_migrates_existing_labels_without_a_model(tmp_path):
    source = tmp_path / "labelled.jsonl"
    record = {
        "id": "m1",
        "text": "送得太慢了，汤也洒了",
        "label_set_version": "1",
        "sentiment": {"label": "negative", "score": 0.9},
        "categories": [
            {
                "label": "speed",
                "score": 0.9,
                "sentiment": "negative",
                "sentiment_score": 0.9,
            },
            {
                "label": "delivery",
                "score": 0.8,
                "sentiment": "negative",
                "sentiment_score": 0.8,
            },
        ],
    }
    unknown = {**record, "id": "m3", "label_set_version": "9"}
    source.write_text(
        json.dumps(record, ensure_ascii=False)
        + "\n"
        + json.dumps({"id": "m2", "text": "没有标签"})
        + "\n"
        + json.dumps(unknown, ensure_ascii=False)
        + "\n",
        "utf-8",
    )
    output = tmp_path / "v2.jsonl"

    totals = relabel(
        RelabelOptions(str(source), str(output), migrate_to="2"), progress=False
    )

    moved = json.loads(output.read_text("utf-8").splitlines()[0])
    assert moved["label_set_version"] == "2"
    assert [c["label"] for c in moved["categories"]] == ["timeliness"]
    assert {u["label"] for u in moved["undecided"]} == {"packaging", "order_accuracy"}
    assert totals.errors == 2  # the record without labels, the one of v9
    errors = (tmp_path / "v2.jsonl.errors.jsonl").read_text("utf-8").splitlines()
    reason = json.loads(errors[1])["reason"]
    assert "label_set_version '9'" in reason and "--model" in reason


def test_relabel_refuses_an_unknown_target_label_set_before_any_state(tmp_path):
    source = tmp_path / "labelled.jsonl"
    source.write_text('{"text": "好"}\n', "utf-8")

    with pytest.raises(ValueError, match="expected --migrate-to one of .*got '9'"):
        RelabelOptions(str(source), str(tmp_path / "o.jsonl"), migrate_to="9")
    assert not (tmp_path / "o.jsonl.relabel-state").exists()


def test_relabel_refuses_state_of_another_job(tiny_model, tmp_path):
    source = _write_jsonl(tmp_path / "in.jsonl", 3)
    state = tmp_path / "out.jsonl.relabel-state"
    state.mkdir()
    (state / "job.json").write_text('{"other": true}', "utf-8")

    with pytest.raises(JobMismatch, match="delete that folder or pass --restart"):
        relabel(
            RelabelOptions(
                str(source), str(tmp_path / "out.jsonl"), model=str(tiny_model[0])
            ),
            progress=False,
        )


def test_relabel_ray_engine_gives_the_local_output(tiny_model, tmp_path):
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install .[ray]")
    source = _write_jsonl(tmp_path / "in.jsonl", 23, bad=[(5, "{oops")])
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"

    relabel(
        RelabelOptions(str(source), str(local), model=str(tiny_model[0]), chunk_rows=4),
        progress=False,
    )
    relabel(
        RelabelOptions(
            str(source),
            str(on_ray),
            model=str(tiny_model[0]),
            chunk_rows=4,
            engine="ray",
            workers=2,
        ),
        progress=False,
    )

    import ray

    assert not ray.is_initialized()  # the job shut down the Ray it started
    assert on_ray.read_bytes() == local.read_bytes()
    assert (tmp_path / "ray.jsonl.errors.jsonl").read_bytes() == (
        tmp_path / "local.jsonl.errors.jsonl"
    ).read_bytes()


def test_relabel_refuses_a_csv_shard_without_text_before_any_state(
    tiny_model, tmp_path
):
    shards = tmp_path / "shards"
    shards.mkdir()
    _write_jsonl(shards / "a.jsonl", 3)
    (shards / "b.csv").write_bytes("id,comment\n1,送得太慢了\n".encode("gbk"))
    output = tmp_path / "out.jsonl"

    with pytest.raises(ValueError, match=r"expected a 'text' column .*'comment'"):
        relabel(
            RelabelOptions(str(shards), str(output), model=str(tiny_model[0])),
            progress=False,
        )
    assert not output.exists()
    assert not (tmp_path / "out.jsonl.relabel-state").exists()


def test_relabel_refuses_an_unknown_encoding_before_any_state(tmp_path):
    source = _write_jsonl(tmp_path / "in.jsonl", 3)

    with pytest.raises(ValueError, match="expected --encoding one of auto"):
        RelabelOptions(
            str(source), str(tmp_path / "o.jsonl"), model="m", encoding="latin9x"
        )
    assert not (tmp_path / "o.jsonl.relabel-state").exists()


def test_relabel_resumes_only_at_the_precision_it_began_with(tiny_model, tmp_path):
    from dataclasses import replace

    from model.predict import load_model
    from serving.relabel import JobState, fingerprint

    source = _write_jsonl(tmp_path / "in.jsonl", 3)
    output = tmp_path / "out.jsonl"
    options = RelabelOptions(
        str(source), str(output), model=str(tiny_model[0]), precision="int8"
    )
    version = load_model(tiny_model[0]).version
    JobState(options, fingerprint(options, version)).open()  # a job begun at int8

    with pytest.raises(JobMismatch, match="precision: 'int8' there"):
        relabel(replace(options, precision="fp32"), progress=False)
    relabel(options, progress=False)  # the same precision resumes it

    assert len(output.read_text("utf-8").splitlines()) == 3


def test_relabel_cli_names_a_wrong_precision_before_any_state(tiny_model, tmp_path):
    from typer.testing import CliRunner

    from pingjia.cli import app

    source = _write_jsonl(tmp_path / "in.jsonl", 2)
    output = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app,
        ["relabel", str(source), "-o", str(output), "--model", str(tiny_model[0])]
        + ["--precision", "fp16"],
    )

    assert result.exit_code == 2
    assert "--precision" in result.output and "got 'fp16'" in result.output
    assert not output.with_name("out.jsonl.relabel-state").exists()


def test_relabel_names_a_corrupt_parquet_shard_before_the_model_loads(tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "a.jsonl").write_text('{"text": "送得太慢了"}\n', "utf-8")
    (shards / "b.parquet").write_bytes(b"not parquet")
    options = RelabelOptions(str(shards), str(tmp_path / "o.jsonl"), model="absent")

    with pytest.raises(ValueError, match="b.parquet.*not one"):
        relabel(options, progress=False)
    assert not (tmp_path / "o.jsonl.relabel-state").exists()


def test_relabel_state_of_other_options_names_the_option(tiny_model, tmp_path):
    source = _write_jsonl(tmp_path / "in.jsonl", 3)
    output = str(tmp_path / "out.jsonl")
    model = str(tiny_model[0])
    first = RelabelOptions(str(source), output, model=model)  # chunk_rows 2000
    # the state a run of it cut off would leave
    JobState(first, fingerprint(first, load_model(model).version)).open()

    with pytest.raises(JobMismatch, match="chunk_rows: 2000 there, 500 now"):
        relabel(
            RelabelOptions(str(source), output, model=model, chunk_rows=500),
            progress=False,
        )


def test_relabel_cli_refuses_an_empty_migrate_to(tmp_path):
    from typer.testing import CliRunner

    from pingjia.cli import app

    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "好"}\n', "utf-8")

    result = CliRunner().invoke(
        app,
        ["relabel", str(source), "-o", str(tmp_path / "o.jsonl"), "--migrate-to", ""],
    )

    assert result.exit_code == 2 and "expected a label-set version" in result.output
