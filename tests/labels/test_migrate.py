"""The migration engine: annotations moved from one version to a later one."""

import shutil

import pytest

from labels.annotations import Annotation
from labels.errors import MigrationError
from labels.migrate import merge_polarities, migrate_annotations, migration_path
from labels.taxonomy import sets_folder
from tests.labels.sets import write_set

V1_TO_V2 = migration_path("1", "2")


def annotation(categories, undecided=()):
    return Annotation(
        "waimai-0123456789abcdef", "negative", categories, "a", "", undecided
    )


@pytest.mark.parametrize(
    ("polarities", "expected"),
    [
        (["negative", "negative"], ("negative", False)),
        (["positive", "neutral"], ("positive", False)),  # neutral yields
        (["neutral", "negative"], ("negative", False)),
        (["neutral", "neutral"], ("neutral", False)),
        (["positive", "negative"], ("neutral", True)),  # opposite: a conflict
        (["positive", "negative", "negative"], ("neutral", True)),
    ],
)
def test_merge_polarities_rule(polarities, expected):
    assert merge_polarities(polarities) == expected


def test_migrate_v1_to_v2_renames_and_merges():
    moved, labels = V1_TO_V2.migrate_annotation(
        annotation({"speed": "negative", "attitude": "negative", "price": "positive"})
    )

    assert moved.categories == {
        "staff": "negative",
        "timeliness": "negative",
        "price": "positive",
    }
    assert moved.undecided == () and labels.conflicts == ()


def test_migrate_split_category_leaves_its_parts_undecided():
    moved, _ = V1_TO_V2.migrate_annotation(
        annotation({"delivery": "negative", "product": "positive"})
    )

    assert moved.categories == {"product": "positive"}
    assert moved.undecided == ("packaging", "order_accuracy")


def test_migrate_absent_split_category_stays_absent():
    moved, _ = V1_TO_V2.migrate_annotation(annotation({"product": "negative"}))

    assert moved.categories == {"product": "negative"} and moved.undecided == ()


def test_migrate_merge_of_opposite_polarities_is_neutral_and_a_conflict():
    moved, labels = V1_TO_V2.migrate_annotation(
        annotation({"attitude": "positive", "professionalism": "negative"})
    )

    assert moved.categories == {"staff": "neutral"}
    assert labels.conflicts == ("staff",)


def test_migrate_same_version_changes_nothing():
    same = migration_path("2", "2")
    before = annotation({"staff": "positive"}, undecided=("packaging",))

    assert same.migrate_annotation(before)[0] == before


def test_migrate_backwards_is_refused_with_the_lineage():
    with pytest.raises(MigrationError, match=r"v2 is not among .* v1 .* \(none\)"):
        migration_path("2", "1")


@pytest.fixture
def chain(tmp_path):
    """v1 -> v2 (the real one) -> v3: rename, merge with an undecided, add, retire."""
    for version in ("1", "2"):
        shutil.copy(sets_folder() / f"v{version}.yaml", tmp_path / f"v{version}.yaml")
    operations = [
        {"op": "rename", "from": "packaging", "to": "transit"},
        {"op": "merge", "from": ["order_accuracy", "price"], "into": "billing"},
        {"op": "add", "key": "hygiene"},
        {"op": "retire", "key": "resolution"},
    ]
    keys = ["staff", "timeliness", "product", "transit", "billing", "hygiene"]
    write_set(tmp_path, "3", keys, operations)
    return migration_path("1", "3", folder=tmp_path)


def test_migrate_through_a_chain_carries_undecided_forward(chain):
    moved, _ = chain.migrate_annotation(
        annotation({"delivery": "negative", "resolution": "negative"})
    )

    # delivery -> (packaging, order_accuracy) undecided -> transit, billing
    # undecided; resolution retired; hygiene was never asked under v1
    assert moved.categories == {}
    assert moved.undecided == ("transit", "billing", "hygiene")


def test_migrate_merge_of_present_and_undecided_is_present(chain):
    moved, _ = chain.migrate_annotation(
        annotation({"delivery": "negative", "price": "positive"})
    )

    assert moved.categories == {"billing": "positive"}
    assert moved.undecided == ("transit", "hygiene")


def test_origins_compose_through_the_chain(chain):
    origins = chain.origins()

    assert origins["billing"] == ("delivery", "price")
    assert origins["staff"] == ("attitude", "professionalism")
    assert origins["hygiene"] == ()
    assert "resolution" not in origins


def test_migrate_annotations_reports_undecided_and_conflicts():
    annotations = [
        annotation({"delivery": "negative"}),
        annotation({"attitude": "positive", "professionalism": "negative"}),
        annotation({"product": "positive"}),
    ]
    annotations = [
        Annotation(f"waimai-{i:016x}", a.sentiment, a.categories)
        for i, a in enumerate(annotations)
    ]

    migrated, report = migrate_annotations(annotations, V1_TO_V2)

    assert len(migrated) == report.annotations == 3
    assert report.changed == 2
    assert report.undecided == {"packaging": 1, "order_accuracy": 1}
    assert report.undecided_ids == ["waimai-0000000000000000"]
    assert report.conflicts == {"staff": 1}
    assert report.conflict_ids == ["waimai-0000000000000001"]
