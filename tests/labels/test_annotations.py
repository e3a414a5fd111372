import json
import re
from collections import Counter

import pytest

from labels.agreement import agreement
from labels.annotations import (
    Annotation,
    AnnotationError,
    data_folder,
    load_hand_labels,
    load_second_pass,
    read_annotations,
    write_annotations,
)
from labels.taxonomy import load_label_set

V1 = load_label_set("1")


def test_hand_labels_cover_every_source_with_3000_comments():
    annotations = load_hand_labels(V1)
    sources = Counter(a.id.split("-")[0] for a in annotations)

    assert len(annotations) >= 3000
    assert set(sources) == {"waimai", "hotel", "shopping", "zhijiang", "helpdesk"}
    assert sources["helpdesk"] >= 600 and sources["waimai"] >= 600


def test_hand_label_files_hold_no_comment_text():
    # Notes are short English reasons; Chinese text would be a copied comment.
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for annotation in load_hand_labels(V1) + load_second_pass(V1):
        assert not cjk.search(annotation.note), annotation.id


def test_second_pass_is_independent_and_overlaps_main_set():
    first = {a.id: a for a in load_hand_labels(V1)}
    second = load_second_pass(V1)

    assert len(second) >= 300
    assert all(a.id in first for a in second)
    assert all(first[a.id].annotator != a.annotator for a in second)


def _write(tmp_path, *records):
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "x-1", "sentiment": "happy"}, "expected 'sentiment' in"),
        ({"sentiment": "positive"}, "expected a non-empty 'id'"),
        (
            {"id": "x-1", "sentiment": "positive", "categories": {"taste": "positive"}},
            "got 'taste'",
        ),
        (
            {"id": "x-1", "sentiment": "positive", "categories": {"speed": "good"}},
            "expected polarity of 'speed'",
        ),
        (
            {"id": "x-1", "sentiment": "positive", "categories": ["speed"]},
            "expected 'categories' as an object",
        ),
    ],
)
def test_read_annotations_names_the_bad_field(tmp_path, record, message):
    path = _write(tmp_path, record)

    with pytest.raises(AnnotationError, match=re.escape(message)) as error:
        read_annotations(path, V1)
    assert ":1:" in str(error.value) or "a.jsonl:1" in str(error.value)


def test_read_annotations_rejects_duplicate_id(tmp_path):
    record = {"id": "x-1", "sentiment": "neutral", "categories": {}}
    path = _write(tmp_path, record, record)

    with pytest.raises(AnnotationError, match="appears twice"):
        read_annotations(path, V1)


def test_read_annotations_names_bytes_that_are_not_utf8_and_a_folder(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"id": "x-1", "sentiment": "neutral", "categories": {}}\n\xff\n')

    with pytest.raises(AnnotationError, match=r"a.jsonl:2: not UTF-8"):
        read_annotations(path, V1)
    with pytest.raises(AnnotationError, match="got the folder"):
        read_annotations(tmp_path, V1)


def test_write_then_read_annotations_round_trip(tmp_path):
    items = [
        Annotation("waimai-1", "negative", {"speed": "negative"}, "a"),
        Annotation("hotel-2", "neutral", {}, "b", note="a plain question"),
    ]
    path = tmp_path / "out.jsonl"
    write_annotations(path, items)

    assert read_annotations(path, V1) == items


def test_agreement_perfect_and_disagreeing_annotators():
    first = [
        Annotation("a", "positive", {"speed": "positive"}),
        Annotation("b", "negative", {"product": "negative"}),
        Annotation("c", "negative", {"price": "negative"}),
    ]
    same = agreement(first, first, V1)
    second = [
        Annotation("a", "positive", {"speed": "negative"}),
        Annotation("b", "positive", {}),
        Annotation("c", "negative", {"price": "negative"}),
    ]
    report = agreement(first, second, V1)
    product = next(c for c in report.categories if c.key == "product")
    speed = next(c for c in report.categories if c.key == "speed")

    assert same.sentiment_kappa == 1.0 and same.exact_match == 1.0
    assert report.exact_match == pytest.approx(1 / 3)
    assert product.kappa < 0.5 and product.both == 0
    assert speed.polarity_agreement == 0.0


V2 = load_label_set("2")


def test_undecided_categories_round_trip(tmp_path):
    path = tmp_path / "v2.jsonl"
    moved = Annotation(
        "waimai-0123456789abcdef",
        "negative",
        {"timeliness": "negative"},
        "a",
        undecided=("packaging", "order_accuracy"),
    )

    write_annotations(path, [moved])

    assert read_annotations(path, V2) == [moved]
    assert json.loads(path.read_text("utf-8"))["undecided"] == [
        "packaging",
        "order_accuracy",
    ]


@pytest.mark.parametrize(
    ("undecided", "message"),
    [
        (["delivery"], "expected 'undecided' as a list of categories of v2"),
        ("packaging", "expected 'undecided' as a list"),  # a string, not a list
        (["timeliness"], r"\['timeliness'\] both labelled and undecided"),
    ],
)
def test_read_annotations_rejects_bad_undecided(tmp_path, undecided, message):
    path = tmp_path / "v2.jsonl"
    record = {
        "id": "waimai-0123456789abcdef",
        "sentiment": "negative",
        "categories": {"timeliness": "negative"},
        "undecided": undecided,
    }
    path.write_text(json.dumps(record) + "\n", "utf-8")

    with pytest.raises(AnnotationError, match=message):
        read_annotations(path, V2)


def test_v2_hand_labels_are_the_v1_labels_migrated():
    # The stored v2 files were written by `pingjia labels migrate`; they must
    # stay what the migration makes of v1 until someone re-annotates them.
    from labels.migrate import migrate_annotations, migration_path

    path = migration_path("1", "2")
    for load in (load_hand_labels, load_second_pass):
        migrated, _ = migrate_annotations(load(V1), path)
        assert load(V2) == migrated


def test_v2_undecided_are_exactly_the_v1_delivery_labels():
    v1_delivery = {a.id for a in load_hand_labels(V1) if "delivery" in a.categories}
    undecided = {a.id: a.undecided for a in load_hand_labels(V2) if a.undecided}

    assert set(undecided) == v1_delivery
    assert set(undecided.values()) == {("packaging", "order_accuracy")}


def test_agreement_leaves_out_undecided_categories():
    first = [
        Annotation("x-1", "negative", {}, undecided=("packaging",)),
        Annotation("x-2", "negative", {"packaging": "negative"}),
    ]
    second = [
        Annotation("x-1", "negative", {"packaging": "negative"}),
        Annotation("x-2", "negative", {"packaging": "negative"}),
    ]

    report = agreement(first, second, V2)

    packaging = next(c for c in report.categories if c.key == "packaging")
    assert (packaging.present_first, packaging.present_second) == (1, 1)
    assert packaging.kappa == 1.0


def test_pending_batch_is_valid_v1_and_new_train_split_comments(corpus):
    pending = read_annotations(data_folder("1") / "pending-review.jsonl", V1)
    labelled = {a.id for a in load_hand_labels(V1) + load_second_pass(V1)}
    split = dict(zip(corpus["id"], corpus["split"], strict=True))

    assert len(pending) == 640
    assert not labelled & {a.id for a in pending}  # merging adds, replaces nothing
    # train only: merged in, it must leave the dev and test figures comparable
    assert {split[a.id] for a in pending} == {"train"}
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert not any(cjk.search(a.note) for a in pending)


def test_blind_pass_of_the_pending_batch_halves_pending_and_main_ids():
    blind = read_annotations(data_folder("1") / "pending-review-blind.jsonl", V1)
    pending = {
        a.id for a in read_annotations(data_folder("1") / "pending-review.jsonl", V1)
    }
    main = {a.id for a in load_hand_labels(V1)}
    ids = {a.id for a in blind}

    assert len(ids & pending) == len(ids & main) == 60  # the GUIDE's two figures
    assert {a.annotator for a in blind} == {"annotator-22"}
