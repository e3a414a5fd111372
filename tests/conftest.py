"""Shared fixtures: the real corpus (loaded once) and where the data lies."""

from __future__ import annotations

import pytest

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
