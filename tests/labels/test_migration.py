"""Migrations declared in label-set files: what loads, and what is refused."""

import shutil

import pytest

from labels.migration import parse_operation
from labels.taxonomy import (
    LabelSetError,
    available_versions,
    latest_version,
    load_label_set,
    sets_folder,
)
from tests.labels.sets import V1_KEYS, write_set

RENAME = {"op": "rename", "from": "speed", "to": "timeliness"}


@pytest.fixture
def folder(tmp_path):
    shutil.copy(sets_folder() / "v1.yaml", tmp_path / "v1.yaml")
    return tmp_path


def keys_after_rename():
    return ["timeliness" if k == "speed" else k for k in V1_KEYS]


def test_load_label_set_v2_declares_rename_merge_and_split():
    v2 = load_label_set("2")

    ops = [(o.op, o.sources, o.targets) for o in v2.migration.operations]
    assert v2.migration.source == "1"
    assert ("rename", ("speed",), ("timeliness",)) in ops
    assert ("merge", ("attitude", "professionalism"), ("staff",)) in ops
    assert ("split", ("delivery",), ("packaging", "order_accuracy")) in ops


def test_label_set_with_migration_round_trips_through_dict(folder):
    write_set(folder, "2", keys_after_rename(), [RENAME])

    v2 = load_label_set("2", folder=folder)
    again = write_set(folder, "3", list(v2.keys), [], source="2")

    assert load_label_set("3", path=again).keys == v2.keys
    assert v2.to_dict()["migration"] == {"from": "1", "operations": [RENAME]}


def test_versions_sort_as_numbers(folder):
    write_set(folder, "2", V1_KEYS, [])
    for version in range(3, 11):
        write_set(folder, str(version), V1_KEYS, [])

    assert available_versions(folder)[-2:] == ["9", "10"]
    assert latest_version(folder) == "10"
    assert load_label_set("10", folder=folder).version == "10"


def test_category_lost_without_a_rule_is_an_error(folder):
    write_set(folder, "2", [k for k in V1_KEYS if k != "price"], [])

    with pytest.raises(LabelSetError, match=r"lost without a rule: \['price'\]"):
        load_label_set("2", folder=folder)


def test_new_category_without_a_rule_is_an_error(folder):
    write_set(folder, "2", [*V1_KEYS, "hygiene"], [])

    with pytest.raises(LabelSetError, match="add '{op: add, key: hygiene}'"):
        load_label_set("2", folder=folder)


def test_operation_on_unknown_category_is_an_error(folder):
    rename = {"op": "rename", "from": "speeed", "to": "timeliness"}
    write_set(folder, "2", keys_after_rename(), [rename])

    with pytest.raises(LabelSetError, match=r"names \['speeed'\] as categories of v1"):
        load_label_set("2", folder=folder)


def test_operation_producing_undefined_category_is_an_error(folder):
    write_set(
        folder, "2", V1_KEYS[:-1], [{"op": "rename", "from": "price", "to": "cost"}]
    )

    with pytest.raises(LabelSetError, match=r"produces \['cost'\].*add them"):
        load_label_set("2", folder=folder)


def test_category_with_two_rules_is_an_error(folder):
    retire = {"op": "retire", "key": "speed"}
    write_set(folder, "2", keys_after_rename(), [RENAME, retire])

    with pytest.raises(LabelSetError, match=r"\['speed'\] taken from two operations"):
        load_label_set("2", folder=folder)


def test_rename_chain_in_one_migration_is_an_error(folder):
    # speed -> timeliness -> ... and price -> speed: a chain read two ways
    operations = [RENAME, {"op": "rename", "from": "price", "to": "speed"}]
    keys = [k for k in keys_after_rename() if k != "price"] + ["speed"]
    write_set(folder, "2", keys, operations)

    with pytest.raises(LabelSetError, match="chains and cycles of renames"):
        load_label_set("2", folder=folder)


def test_cycle_of_versions_is_an_error(folder):
    write_set(folder, "2", V1_KEYS, [], source="3")
    write_set(folder, "3", V1_KEYS, [], source="2")

    with pytest.raises(LabelSetError, match=r"cycle \(v3 from v2 from v3\)"):
        load_label_set("3", folder=folder)


def test_migration_from_missing_version_names_available_ones(folder):
    write_set(folder, "2", V1_KEYS, [], source="7")

    with pytest.raises(FileNotFoundError, match=r"label set v7.*\['1', '2'\]"):
        load_label_set("2", folder=folder)


def test_changing_polarities_in_a_version_is_an_error(folder):
    write_set(folder, "2", V1_KEYS, [], polarities=["good", "bad"])

    with pytest.raises(LabelSetError, match="keeps both lists"):
        load_label_set("2", folder=folder)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"op": "move", "from": "a"}, "'op' one of"),  # unknown op
        ({"op": "rename", "from": "a", "into": "b"}, "unknown field 'into'"),
        ({"op": "merge", "from": "a", "into": "b"}, "list of two or more"),
        ({"op": "split", "from": "a", "into": ["b", "b"]}, "distinct"),
        ({"op": "rename", "from": "a", "to": "a"}, "to itself"),
        ({"op": "retire"}, "expected 'key' of a retire"),
        ("rename speed", "'op' one of"),  # not a mapping
    ],
)
def test_parse_operation_rejects_bad_operation(raw, message):
    with pytest.raises(LabelSetError, match=message):
        parse_operation(raw, "v2.yaml: operation #1")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"migrations": {}}, "unknown field 'migrations' in the label set"),
        ({"migration": {"from": "1", "ops": []}}, "unknown field 'ops'"),
        ({"migration": {"operations": []}}, "expected 'migration.from'"),
        ({"migration": ["rename"]}, "expected 'migration' as a mapping"),
    ],
)
def test_label_set_with_unknown_keys_is_an_error(folder, extra, message):
    write_set(folder, "2", V1_KEYS, **extra)

    with pytest.raises(LabelSetError, match=message):
        load_label_set("2", folder=folder)


def test_category_with_unknown_field_is_an_error(folder):
    path = write_set(folder, "2", V1_KEYS, [])
    path.write_text(
        path.read_text("utf-8").replace("en: price", "en: price\n  fr: prix")
    )

    with pytest.raises(LabelSetError, match="unknown field 'fr' in category 'price'"):
        load_label_set("2", folder=folder)
