import json
from collections import Counter

import pytest

from labels.annotations import load_hand_labels
from labels.ids import comment_id
from labels.taxonomy import load_label_set
from training.corpus import SplitRatios, assign_split, iter_source, load_corpus
from training.weak import weak_label


def test_corpus_has_every_source_and_split(corpus):
    counts = Counter(zip(corpus["source"], corpus["split"], strict=True))

    for source in ("waimai", "hotel", "shopping", "zhijiang", "helpdesk"):
        total = sum(counts[source, s] for s in ("train", "dev", "test"))
        assert counts[source, "test"] > 0.05 * total
        assert counts[source, "train"] > 0.7 * total


def test_corpus_ids_are_unique_and_match_the_text(corpus):
    assert len(set(corpus["id"])) == len(corpus)
    for row in corpus.select(range(0, len(corpus), 997)):
        assert row["id"] == comment_id(row["source"], row["text"])


def test_corpus_text_is_normalised(corpus):
    sample = corpus.select(range(0, len(corpus), 101))["text"]
    assert all(
        t and t == t.strip() and "，" not in t and "\ufeff" not in t for t in sample
    )


def test_every_hand_label_id_is_in_the_corpus(corpus):
    ids = set(corpus["id"])
    missing = [a.id for a in load_hand_labels(load_label_set("1")) if a.id not in ids]
    assert missing == []


def test_helpdesk_turns_keep_dialogue_and_turn_and_share_split(corpus):
    helpdesk = corpus.filter(lambda s: s == "helpdesk", input_columns="source")
    splits_per_dialogue: dict[str, set[str]] = {}
    for row in helpdesk:
        splits_per_dialogue.setdefault(row["dialogue_id"], set()).add(row["split"])

    assert all(row["turn_index"] is not None for row in helpdesk.select(range(50)))
    assert all(len(s) == 1 for s in splits_per_dialogue.values())


def test_helpdesk_takes_customer_turns_only(tmp_path):
    folder = tmp_path / "stc3_helpdesk"
    folder.mkdir()
    dialogue = {
        "id": "42",
        "turns": [
            {"sender": "customer", "utterances": ["手机开不了机", "怎么办"]},
            {"sender": "helpdesk", "utterances": ["请私信"]},
            {"sender": "customer", "utterances": [""]},
        ],
        "annotations": [{"quality": {"A": -1, "S": -2, "E": 0}}],
    }
    (folder / "train_cn.jsonl").write_text(json.dumps(dialogue) + "\n", "utf-8")
    (folder / "test_cn.jsonl").write_text("", "utf-8")

    rows = list(iter_source("helpdesk", tmp_path))

    assert [r["text"] for r in rows] == ["手机开不了机 怎么办"]
    assert rows[0]["turn_index"] == 0 and rows[0]["stc3_scores"]["S"] == -2


@pytest.mark.parametrize("dialogue", [{"id": 1}, {"id": 1, "turns": "x"}])
def test_a_data_file_of_another_shape_is_named_not_a_traceback(tmp_path, dialogue):
    folder = tmp_path / "stc3_helpdesk"
    folder.mkdir()
    (folder / "train_cn.jsonl").write_text(json.dumps(dialogue) + "\n", "utf-8")
    (folder / "test_cn.jsonl").write_text("", "utf-8")

    with pytest.raises(ValueError, match="expected the helpdesk data set.*stc3"):
        load_corpus(tmp_path, sources=("helpdesk",))


def test_duplicates_within_a_source_are_dropped(tmp_path):
    folder = tmp_path / "waimai_10k"
    folder.mkdir()
    (folder / "waimai_10k.csv").write_text(
        "label,review\n1,很好吃\n1,很好吃 \n0,太慢了\n", "utf-8"
    )

    corpus = load_corpus(tmp_path, sources=("waimai",))

    assert corpus["text"] == ["很好吃", "太慢了"]
    assert corpus["source_sentiment"] == ["positive", "negative"]


def test_assign_split_is_stable_and_seeded():
    ratios = SplitRatios()
    other = SplitRatios(seed=7)
    groups = [f"g{i}" for i in range(2000)]
    splits = [assign_split(g, ratios) for g in groups]

    assert splits == [assign_split(g, ratios) for g in groups]
    assert splits != [assign_split(g, other) for g in groups]
    assert 150 < splits.count("test") < 250


def test_split_ratios_reject_impossible_fractions():
    with pytest.raises(ValueError, match="summing below 1"):
        SplitRatios(dev=0.6, test=0.5)


def test_load_corpus_missing_folder_says_how_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="set PINGJIA_DATA"):
        load_corpus(tmp_path / "nowhere")


def test_weak_labels_map_zhijiang_categories(corpus):
    row = {
        "id": "zhijiang-1",
        "source": "zhijiang",
        "source_sentiment": None,
        "aspects": [
            {"category": "物流", "polarity": "positive", "aspect": "", "opinion": ""},
            {"category": "价格", "polarity": "negative", "aspect": "", "opinion": ""},
            {"category": "整体", "polarity": "positive", "aspect": "", "opinion": ""},
        ],
    }
    label = weak_label(row)

    assert label.categories == {"speed": "positive", "price": "negative"}
    assert label.sentiment is None  # mixed polarities give no overall stance
    assert weak_label({**row, "source": "helpdesk", "aspects": []}) is None


def test_corpus_export_undecided_v2_comments_for_annotators(corpus, tmp_path):
    from typer.testing import CliRunner

    from pingjia.cli import app

    out = tmp_path / "undecided.jsonl"
    result = CliRunner().invoke(
        app, ["corpus", "export", "--version", "2", "--undecided", "-o", str(out)]
    )

    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(records) == 655  # the v1 labels with delivery, split in v2
    assert all(r["label_set_version"] == "2" for r in records)
    assert all(set(r["undecided"]) == {"packaging", "order_accuracy"} for r in records)
    texts = dict(zip(corpus["id"], corpus["text"], strict=True))
    assert all(r["text"] == texts[r["id"]] for r in records)
