"""Demo data for the report tests, built from real hand-labelled comments.

Hand labels (labels/data/v1/annotations.jsonl) are joined with their texts
from the corpus and given synthetic metadata by serving.reports.demo; the
result is cached per seed, since several test modules read it.
"""

from __future__ import annotations

import copy
from functools import cache

from serving.reports.demo import DemoConfig, demo_events, demo_records

PERIOD = "2026-11-02:2026-11-29"  # the four weeks after the planted change
BEFORE = "2026-10-05:2026-11-01"
_HAND: list[dict] = []


def hand_records(corpus) -> list[dict]:
    if not _HAND:
        from labels.annotations import load_hand_labels
        from labels.taxonomy import load_label_set
        from training.cli import hand_labelled_records

        _HAND.extend(
            hand_labelled_records(corpus, load_hand_labels(load_label_set("1")))
        )
    return _HAND


@cache
def _demo(seed: int) -> tuple[dict, ...]:
    return tuple(demo_records(_HAND, DemoConfig(seed=seed)))


def demo_data(corpus, seed: int = 0) -> list[dict]:
    hand_records(corpus)
    return copy.deepcopy(list(_demo(seed)))


def demo_triple(corpus) -> tuple[list[dict], DemoConfig, list[dict]]:
    """(records, config, events) for seed 0."""
    config = DemoConfig(seed=0)
    return demo_data(corpus, 0), config, demo_events(config)
