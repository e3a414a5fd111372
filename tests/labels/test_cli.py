"""``pingjia labels``: show, diff, migrate, new."""

import json
import re
import shutil

from typer.testing import CliRunner

from labels.cli import app
from labels.taxonomy import load_label_set, sets_folder

runner = CliRunner()

V1_LINES = [
    {"id": "waimai-0000000000000001", "sentiment": "negative",
     "categories": {"delivery": "negative", "speed": "negative"}, "annotator": "a"},
    {"id": "waimai-0000000000000002", "sentiment": "positive",
     "categories": {"attitude": "positive", "professionalism": "negative"},
     "annotator": "a"},
    {"id": "hotel-0000000000000003", "sentiment": "neutral", "categories": {},
     "annotator": "b"},
]  # fmt: skip


def write_v1(path):
    path.write_text("".join(json.dumps(r) + "\n" for r in V1_LINES), "utf-8")
    return path


def test_show_prints_v2_categories():
    result = runner.invoke(app, ["show", "--version", "2"])

    assert result.exit_code == 0
    assert "order_accuracy" in result.output and "订单准确" in result.output


def test_diff_lists_operations_and_kept_categories():
    result = runner.invoke(app, ["diff", "1", "2"])

    assert result.exit_code == 0
    assert "v1 -> v2" in result.output
    assert "merge   attitude + professionalism -> staff" in result.output
    assert "split   delivery -> packaging | order_accuracy" in result.output
    assert "kept    resolution, product, price" in result.output


def test_diff_backwards_is_a_usage_error():
    result = runner.invoke(app, ["diff", "2", "1"])

    assert result.exit_code == 2
    assert "Migrations go forward" in result.output


def test_migrate_writes_v2_labels_and_reports_undecided(tmp_path):
    output = tmp_path / "v2" / "annotations.jsonl"

    result = runner.invoke(
        app,
        ["migrate", "--from", "1", "--to", "2", str(write_v1(tmp_path / "v1.jsonl")),
         "-o", str(output)],
    )  # fmt: skip

    lines = [json.loads(line) for line in output.read_text("utf-8").splitlines()]
    assert result.exit_code == 0, result.output
    assert "3 annotations moved from v1 to v2" in result.output
    assert re.search(r"packaging +1 undecided", result.output)
    assert re.search(r"staff +1 set neutral", result.output)
    assert "undecided ids: waimai-0000000000000001" in result.output
    assert lines[0]["categories"] == {"timeliness": "negative"}
    assert lines[0]["undecided"] == ["packaging", "order_accuracy"]
    assert lines[1]["categories"] == {"staff": "neutral"}
    assert lines[2] == V1_LINES[2]


def test_migrate_refuses_to_overwrite_its_input(tmp_path):
    path = write_v1(tmp_path / "v1.jsonl")

    result = runner.invoke(
        app, ["migrate", "--from", "1", "--to", "2", str(path), "-o", str(path)]
    )

    assert result.exit_code == 2
    assert "expected an OUTPUT other than INPUT" in result.output


def test_migrate_input_not_of_the_from_version_names_the_line(tmp_path):
    path = tmp_path / "v2.jsonl"
    path.write_text(json.dumps({**V1_LINES[2], "categories": {"staff": "positive"}}))

    result = runner.invoke(
        app,
        ["migrate", "--from", "1", "--to", "2", str(path), "-o", str(tmp_path / "o")],
    )

    assert result.exit_code == 2
    assert "v2.jsonl:1" in result.output and "'staff'" in result.output


def test_new_starts_next_version_as_a_loadable_copy(tmp_path):
    for version in ("1", "2"):
        shutil.copy(sets_folder() / f"v{version}.yaml", tmp_path)

    result = runner.invoke(app, ["new", "--sets", str(tmp_path)])

    v3 = load_label_set("3", folder=tmp_path)
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "v3.yaml" in result.output
    assert v3.keys == load_label_set("2").keys
    assert v3.migration.source == "2" and v3.migration.operations == ()
    assert (tmp_path / "v3.yaml").read_text("utf-8").startswith("# Label set v3")


def test_merge_replaces_by_id_and_adds_new_comments(tmp_path):
    v2 = tmp_path / "v2.jsonl"
    runner.invoke(app, ["migrate", str(write_v1(tmp_path / "v1.jsonl")),
                        "--from", "1", "--to", "2", "-o", str(v2)])  # fmt: skip
    refined = tmp_path / "refined.jsonl"
    refined.write_text(
        json.dumps({"id": "waimai-0000000000000001", "sentiment": "negative",
                    "categories": {"packaging": "negative", "timeliness": "negative"},
                    "annotator": "c"}) + "\n"
        + json.dumps({"id": "shopping-0000000000000009", "sentiment": "positive",
                      "categories": {}, "annotator": "c"}) + "\n",
        "utf-8",
    )  # fmt: skip
    out = tmp_path / "merged.jsonl"

    result = runner.invoke(
        app, ["merge", str(v2), str(refined), "--version", "2", "-o", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert "4 annotations" in result.output and "1 replaced, 1 added" in result.output
    lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [line["id"] for line in lines] == [
        "waimai-0000000000000001",
        "waimai-0000000000000002",
        "hotel-0000000000000003",
        "shopping-0000000000000009",
    ]
    assert lines[0]["categories"] == {"packaging": "negative", "timeliness": "negative"}
    assert "undecided" not in lines[0]
    assert "0 still with undecided" in result.output


def test_merge_refuses_labels_of_another_version(tmp_path):
    refined = tmp_path / "refined.jsonl"
    refined.write_text(json.dumps(V1_LINES[0]) + "\n", "utf-8")
    v2 = tmp_path / "v2.jsonl"
    v2.write_text("", "utf-8")

    result = runner.invoke(
        app, ["merge", str(v2), str(refined), "--version", "2", "-o", "x.jsonl"]
    )

    assert result.exit_code == 2
    assert "expected a category of v2" in result.output


def test_stats_prints_counts_per_source_and_agreement():
    result = runner.invoke(app, ["stats"])

    assert result.exit_code == 0, result.output
    assert "hand labels under v1: 5400 comments" in result.output
    for source in ("helpdesk", "hotel", "shopping", "waimai", "zhijiang"):
        assert re.search(rf"^{source}\s+\d+", result.output, re.MULTILINE), source
    assert "agreement of two independent annotations on 300 comments" in result.output
    kappas = re.findall(
        r"^(?:attitude|speed|price)\s+([01]\.\d\d)", result.output, re.M
    )
    assert len(kappas) == 3 and all(0 <= float(k) <= 1 for k in kappas)


def test_agreement_compares_two_files_on_their_shared_ids(tmp_path):
    first = write_v1(tmp_path / "first.jsonl")
    second = tmp_path / "second.jsonl"
    other = dict(V1_LINES[0], categories={"delivery": "negative"}, annotator="c")
    second.write_text(
        json.dumps(other) + "\n" + json.dumps(V1_LINES[2]) + "\n", "utf-8"
    )

    result = runner.invoke(app, ["agreement", str(first), str(second)])

    assert result.exit_code == 0, result.output
    assert "agreement on 2 comments labelled in both" in result.output
    # one shared category (delivery) of three labelled: micro-F1 2*1/(2+1)
    assert "presence micro-F1 between annotators 0.67" in result.output


def test_agreement_of_files_without_a_shared_id_is_refused(tmp_path):
    first = write_v1(tmp_path / "first.jsonl")
    second = tmp_path / "second.jsonl"
    second.write_text(json.dumps(dict(V1_LINES[0], id="waimai-x")) + "\n", "utf-8")

    result = runner.invoke(app, ["agreement", str(first), str(second)])

    assert result.exit_code == 2
    assert "label different comments" in result.output
