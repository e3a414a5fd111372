import pytest
import yaml

from labels.taxonomy import LabelSetError, load_label_set, parse_label_set


def _raw_v1():
    return load_label_set("1").to_dict()


def test_load_label_set_v1_has_the_seven_keys():
    label_set = load_label_set("1")

    assert label_set.version == "1"
    assert label_set.keys == (
        "attitude",
        "speed",
        "resolution",
        "professionalism",
        "product",
        "delivery",
        "price",
    )
    assert label_set.category("attitude").zh == "服务态度"
    assert label_set.polarities == ("positive", "negative", "neutral")


def test_label_set_round_trips_through_dict():
    raw = _raw_v1()
    assert parse_label_set(raw).to_dict() == raw


def test_parse_label_set_rejects_duplicate_keys():
    raw = _raw_v1()
    raw["categories"].append(dict(raw["categories"][0]))

    with pytest.raises(LabelSetError, match="must be unique"):
        parse_label_set(raw)


def test_parse_label_set_rejects_category_without_definition():
    raw = _raw_v1()
    raw["categories"][0]["definition"] = ""

    with pytest.raises(LabelSetError, match=r"lacks \['definition'\]"):
        parse_label_set(raw)


@pytest.mark.parametrize("key", ["Attitude", "服务", "has space", "1st"])
def test_parse_label_set_rejects_bad_key(key):
    raw = _raw_v1()
    raw["categories"][0]["key"] = key

    with pytest.raises(LabelSetError, match="expected a key of lower-case"):
        parse_label_set(raw)


def test_parse_label_set_rejects_missing_polarities():
    raw = _raw_v1()
    del raw["polarities"]

    with pytest.raises(LabelSetError, match="'polarities'"):
        parse_label_set(raw)


def test_load_label_set_unknown_version_names_available_ones():
    with pytest.raises(FileNotFoundError, match=r"available versions: \['1'"):
        load_label_set("99")


def test_load_label_set_checks_version_against_file_name(tmp_path):
    raw = _raw_v1()
    raw["version"] = "2"
    path = tmp_path / "v1.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

    with pytest.raises(LabelSetError, match="as the file name says"):
        load_label_set("1", path=path)
