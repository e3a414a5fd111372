import pytest

from labels.ids import comment_id, normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("送餐很快，态度也好", "送餐很快,态度也好"),  # full-width comma -> ASCII
        ("  很好\u3000吃 \n", "很好 吃"),  # ideographic space and newline collapse
        ("\ufeff做父母", "做父母"),  # byte order mark inside a CSV cell
        ("ＡＢＣ１２３", "ABC123"),  # full-width Latin letters and digits
        ("好吃😋", "好吃😋"),  # emoji are kept
        ("", ""),
    ],
)
def test_normalize_text_width_and_space(raw, expected):
    assert normalize_text(raw) == expected


def test_comment_id_is_stable_across_width_and_space():
    assert comment_id("waimai", "送餐很快，态度也好") == comment_id(
        "waimai", " 送餐很快,态度也好 "
    )


def test_comment_id_differs_by_source_and_text():
    assert comment_id("waimai", "很好") != comment_id("hotel", "很好")
    assert comment_id("waimai", "很好") != comment_id("waimai", "很差")


def test_comment_id_has_source_prefix_and_fixed_hash():
    # A known value: changing the id scheme would orphan every stored label.
    assert comment_id("waimai", "很快，好吃，味道足，量大") == "waimai-4775c73132680ef2"


def test_comment_id_rejects_source_with_dash():
    with pytest.raises(ValueError, match="without '-'"):
        comment_id("wai-mai", "很好")


def test_normalize_text_rejects_non_string():
    with pytest.raises(TypeError, match="expected text as str"):
        normalize_text(None)  # type: ignore[arg-type]
