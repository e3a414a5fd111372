import pytest

from training.config import TrainConfig


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"time_budget_minutes": 0}, "time budget above 0"),
        ({"time_budget_minutes": -1}, "time budget above 0"),
        ({"freeze_layers": -1}, "freeze_layers and weak_per_source >= 0"),
        ({"weak_per_source": -5}, "freeze_layers and weak_per_source >= 0"),
        ({"base_encoder": "/nonexistent/encoder"}, "found no such folder"),
        ({"pooling": "max"}, "one of mean, category_attention"),
        ({"precision": "int8"}, r"got 'int8' \(int8 is for serving, not training\)"),
        ({"precision": "fp16"}, r"one of auto, fp32, bf16, got 'fp16'$"),
        ({"train_window_tokens": 4}, r"train_window_tokens from 8 to 512 .*got 4$"),
        ({"train_window_tokens": 600}, r"train_window_tokens from 8 to 512 .*got 600$"),
        ({"encoder_layers": -1}, r"encoder_layers >= 0 \(0: all"),
        ({"weak_weight": 2}, r"weak_weight in \[0, 1\], got 2"),
        ({"seed": -1}, r"seed in \[0, 2\*\*32\), got -1"),
    ],
)
def test_bad_train_options_are_refused_before_any_work(fields, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**fields)


def test_a_hub_name_is_not_taken_for_a_missing_folder():
    assert TrainConfig(base_encoder="BAAI/bge-small-zh").base_encoder


def test_freezing_more_layers_than_the_encoder_has_is_refused(tiny_encoder, tmp_path):
    from training.fit import train

    config = TrainConfig(
        output=str(tmp_path / "m"), base_encoder=str(tiny_encoder), freeze_layers=3
    )
    with pytest.raises(ValueError, match="freeze_layers from 0 to 2"):
        train(config)
