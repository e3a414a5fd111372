"""Shared fixtures: the real corpus (loaded once) and where the data lies."""

from __future__ import annotations

import os

import pytest

# Progress bars are for people; in test logs they bury the failures.
os.environ.setdefault("TQDM_DISABLE", "1")

from training.corpus import default_data_dir, load_corpus


def pytest_collection_modifyitems(config, items):
    if not default_data_dir().is_dir():
        skip = pytest.mark.skip(
            reason="These tests read the real comments in shared/data, which is "
            "not beside this checkout; set PINGJIA_DATA to its path."
        )
        for item in items:
            if "corpus" in item.fixturenames:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def corpus():
    return load_corpus()


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory):
    from tests.tiny import build_tiny_encoder

    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    from tests.tiny import write_tiny_data

    return write_tiny_data(tmp_path_factory.mktemp("tiny-data"), copies=8)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_encoder, tiny_data):
    """A classifier trained for a few seconds on the tiny data."""
    from training.config import TrainConfig
    from training.fit import train

    data_dir, annotations = tiny_data
    config = TrainConfig(
        output=str(tmp_path_factory.mktemp("models") / "tiny"),
        base_encoder=str(tiny_encoder),
        data_dir=str(data_dir),
        annotations=str(annotations),
        epochs=20,
        batch_size=8,
        weak_per_source=8,
        freeze_layers=0,
        freeze_embeddings=False,
        learning_rate=2e-3,
        head_learning_rate=1e-2,
        time_budget_minutes=30,  # never binds: a binding budget makes runs differ
        eval_every_epochs=1.0,
        patience=30,
    )
    return train(config), config


@pytest.fixture(scope="session")
def small_real_model(tmp_path_factory, corpus):
    """The real base encoder fine-tuned for about a minute on the real labels.

    Costs ~2 minutes of the test run; the end-to-end tests that need the real
    encoder share it.
    """
    from training.config import TrainConfig
    from training.fit import train

    config = TrainConfig(
        output=str(tmp_path_factory.mktemp("models") / "small-real"),
        epochs=1,
        weak_per_source=150,
        freeze_layers=8,
        time_budget_minutes=1.0,
        eval_every_epochs=1.0,
        star_test_per_source=30,
    )
    return train(config)
