import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from model.predict import load_model
from pingjia.cli import app
from serving.classify import classify_file

runner = CliRunner()


def _jsonl(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_classify_file_skips_bad_rows_and_keeps_the_rest(tiny_model, tmp_path):
    folder, _ = tiny_model
    source = _jsonl(
        tmp_path / "in.jsonl",
        [
            json.dumps(
                {"id": "a", "text": "送得太慢了", "agent": "张三"}, ensure_ascii=False
            ),
            '{"id": "b", "text": "broken',  # broken JSON
            json.dumps({"id": "c"}),  # no text
            json.dumps({"id": "d", "text": "   "}),  # blank text
            json.dumps({"id": "e", "text": 42}),  # wrong type
            json.dumps(["not", "an", "object"]),
            json.dumps({"id": "f", "text": "很好吃😋"}, ensure_ascii=False),
            json.dumps({"id": "g", "text": "好\ud800"}),  # a lone surrogate
            json.dumps({"id": "h", "text": "\u200b\ufeff"}),  # invisible only
            json.dumps({"id": "i", "text": "好", "x": ["\udfff"]}),
        ],
    )
    with source.open("ab") as handle:  # one line of GBK bytes, then UTF-8 again
        handle.write('{"id": "j", "text": "太慢"}\n'.encode("gbk"))
        handle.write('{"id": "k", "text": "太慢了"}\n'.encode())

    result = classify_file(load_model(folder), str(source), progress=False)

    assert [r["id"] for r in result.records] == ["a", "f", "k"]
    assert result.records[0]["agent"] == "张三"  # other fields are kept
    assert {r["model_version"] for r in result.records} == {load_model(folder).version}
    assert [(e.row, e.reason.split(" ")[0]) for e in result.errors] == [
        (2, "broken"),
        (3, "missing"),
        (4, "empty"),
        (5, "expected"),
        (6, "expected"),
        (8, "'text'"),
        (9, "empty"),
        (10, "'x[0]'"),
        (11, "bytes"),  # one GBK line in a UTF-8 file: that row only
    ]


def test_classify_cli_jsonl_to_csv_and_errors_file(tiny_model, tmp_path):
    folder, _ = tiny_model
    source = _jsonl(
        tmp_path / "in.jsonl",
        [
            json.dumps({"text": "骑手态度很好"}, ensure_ascii=False),
            "{oops",
        ],
    )
    output = tmp_path / "out.csv"

    result = runner.invoke(
        app, ["classify", str(source), "-o", str(output), "--model", str(folder)]
    )

    assert result.exit_code == 0, result.output
    frame = pd.read_csv(output)
    assert frame["text"].tolist() == ["骑手态度很好"]
    assert json.loads(frame["sentiment"][0])["label"] in (
        "positive",
        "negative",
        "neutral",
    )
    errors = (tmp_path / "out.csv.errors.jsonl").read_text("utf-8").splitlines()
    assert json.loads(errors[0])["row"] == 2


def test_classify_cli_writes_a_lone_surrogate_row_to_the_errors_file(
    tiny_model, tmp_path
):
    folder, _ = tiny_model
    source = _jsonl(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": "a", "text": "骑手态度很好"}, ensure_ascii=False),
            json.dumps({"id": "b", "text": "客服\ud800不回", "tags": ["\udfff"]}),
        ],
    )
    output = tmp_path / "out.jsonl"

    result = runner.invoke(
        app, ["classify", str(source), "-o", str(output), "--model", str(folder)]
    )

    assert result.exit_code == 0, result.output
    assert "1 rows labelled, 1 skipped" in result.output
    lines = (tmp_path / "out.jsonl.errors.jsonl").read_text("utf-8").splitlines()
    (error,) = [json.loads(line) for line in lines]
    assert error["row"] == 2
    assert error["record"]["text"] == "客服\\ud800不回"  # the escape, as text
    assert error["record"]["tags"] == ["\\udfff"]


def test_classify_cli_csv_to_parquet(tiny_model, tmp_path):
    folder, _ = tiny_model
    source = tmp_path / "in.csv"
    pd.DataFrame(
        {
            "id": ["1", "2"],
            "text": ["太贵了", "退款很顺利"],
            "channel": ["app", "phone"],
        }
    ).to_csv(source, index=False)
    output = tmp_path / "out.parquet"

    result = runner.invoke(
        app, ["classify", str(source), "-o", str(output), "--model", str(folder)]
    )

    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(output)
    assert frame["channel"].tolist() == ["app", "phone"]
    assert set(frame.columns) >= {
        "sentiment",
        "categories",
        "model_version",
        "label_set_version",
    }


def test_classify_cli_reads_stdin_and_writes_stdout(tiny_model):
    folder, _ = tiny_model
    lines = json.dumps({"id": "x", "text": "汤洒了"}, ensure_ascii=False) + "\n"

    result = runner.invoke(app, ["classify", "-", "--model", str(folder)], input=lines)

    record = json.loads(result.stdout.splitlines()[0])
    assert record["id"] == "x" and "categories" in record


def test_classify_cli_at_int8_answers_and_a_wrong_precision_is_named(tiny_model):
    folder, _ = tiny_model
    lines = json.dumps({"text": "汤洒了"}, ensure_ascii=False) + "\n"

    int8 = runner.invoke(
        app,
        ["classify", "-", "--model", str(folder), "--precision", "int8"],
        input=lines,
    )
    wrong = runner.invoke(
        app,
        ["classify", "-", "--model", str(folder), "--precision", "fp16"],
        input=lines,
    )

    assert "categories" in json.loads(int8.stdout.splitlines()[0])
    assert wrong.exit_code == 2
    assert "--precision" in wrong.output and "got 'fp16'" in wrong.output


@pytest.mark.parametrize("name", ["in.txt", "in.xlsx"])
def test_classify_cli_rejects_unknown_input_format(tiny_model, tmp_path, name):
    folder, _ = tiny_model
    (tmp_path / name).write_text("x", "utf-8")

    result = runner.invoke(
        app, ["classify", str(tmp_path / name), "--model", str(folder)]
    )

    assert result.exit_code != 0
    assert "expected a file ending in" in result.output


def test_classify_cli_without_model_says_how_to_get_one(tmp_path):
    source = _jsonl(tmp_path / "in.jsonl", ['{"text": "好"}'])

    result = runner.invoke(
        app, ["classify", str(source), "--model", str(tmp_path / "none")]
    )

    assert result.exit_code != 0
    assert "pingjia train" in result.output


def test_classify_csv_bad_row_costs_that_row_and_gbk_is_read(tiny_model, tmp_path):
    folder, _ = tiny_model
    source = tmp_path / "export.csv"
    source.write_bytes("id,text\na,送餐很快\nb,太慢,多,余\nc,汤洒了\n".encode("gbk"))

    result = classify_file(load_model(folder), str(source), progress=False)

    assert [r["id"] for r in result.records] == ["a", "c"]
    assert result.records[0]["text"] == "送餐很快"
    assert [(e.row, "more cells" in e.reason) for e in result.errors] == [(2, True)]


def test_classify_refuses_an_output_folder_that_is_not_there(tiny_model, tmp_path):
    folder, _ = tiny_model
    source = _jsonl(tmp_path / "in.jsonl", [json.dumps({"text": "好"})])

    result = runner.invoke(
        app,
        ["classify", str(source), "-o", str(tmp_path / "no" / "x.jsonl"),
         "--model", str(folder)],
    )  # fmt: skip

    assert result.exit_code == 2
    assert "create it or write elsewhere" in result.output


def test_classify_parquet_bad_row_with_a_timestamp_is_a_row_error(tiny_model, tmp_path):
    folder, _ = tiny_model
    source = tmp_path / "in.parquet"
    pd.DataFrame(
        {
            "id": ["a", "b"],
            "text": ["送餐很快", "   "],
            "at": pd.to_datetime(["2026-11-03", "2026-11-04"]),
        }
    ).to_parquet(source)

    result = classify_file(load_model(folder), str(source), progress=False)

    assert [r["id"] for r in result.records] == ["a"]
    assert result.errors[0].row == 2 and result.errors[0].record["id"] == "b"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_without_a_text_column_is_refused_naming_its_columns(
    tiny_model, tmp_path, suffix
):
    source = tmp_path / f"in{suffix}"
    frame = pd.DataFrame({"id": ["1", "2"], "review": ["太贵了", "退款很顺利"]})
    frame.to_csv(source, index=False) if suffix == ".csv" else frame.to_parquet(source)
    output = tmp_path / "out.jsonl"

    result = runner.invoke(
        app, ["classify", str(source), "-o", str(output), "--model", str(tiny_model[0])]
    )

    assert result.exit_code == 2
    assert "expected a 'text' column" in result.output
    assert "'id', 'review'" in result.output
    assert "rename the column" in result.output
    assert not output.exists()


def test_classify_reads_gbk_json_lines_and_refuses_an_unknown_encoding(
    tiny_model, tmp_path
):
    folder, _ = tiny_model
    source = tmp_path / "gbk.jsonl"
    source.write_bytes('{"id": "g", "text": "送得太慢了"}\n'.encode("gbk"))
    output = tmp_path / "out.jsonl"

    result = runner.invoke(
        app, ["classify", str(source), "-o", str(output), "--model", str(folder)]
    )
    refused = runner.invoke(
        app, ["classify", str(source), "--encoding", "latin1", "--model", str(folder)]
    )

    assert result.exit_code == 0, result.output
    labelled = json.loads(output.read_text("utf-8"))
    assert labelled["text"] == "送得太慢了"
    assert refused.exit_code == 2 and "expected --encoding one of" in refused.output


def test_classify_cli_points_a_folder_to_relabel_and_stdin_csv_to_json_lines(
    tiny_model, tmp_path
):
    folder, _ = tiny_model

    a_folder = runner.invoke(app, ["classify", str(tmp_path), "--model", str(folder)])
    csv_in = runner.invoke(
        app, ["classify", "-", "--model", str(folder)], input="id,text\n1,汤洒了\n"
    )

    assert a_folder.exit_code == 2 and "pingjia relabel FOLDER" in a_folder.output
    assert csv_in.exit_code == 1  # no row labelled
    assert "row 1: broken JSON" in csv_in.stderr
    assert "(stdin is read as JSON lines)" in csv_in.stderr


def test_classify_cli_reads_stdin_in_the_encoding_named(tiny_model):
    folder, _ = tiny_model
    gbk = '{"id": "g", "text": "汤洒了"}\n'.encode("gbk")

    named = runner.invoke(
        app, ["classify", "-", "--model", str(folder), "--encoding", "gbk"], input=gbk
    )
    unnamed = runner.invoke(app, ["classify", "-", "--model", str(folder)], input=gbk)

    assert json.loads(named.stdout.splitlines()[0])["text"] == "汤洒了"
    assert "not valid utf-8" in unnamed.stderr
