"""Training examples: hand labels and weak supervision in one tensor-ready form."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

import datasets

from labels.annotations import Annotation
from labels.taxonomy import LabelSet
from training.weak import weak_label

IGNORE = -100


@dataclass
class Example:
    id: str
    text: str
    source: str
    split: str
    hand: bool
    presence: list[float]
    presence_mask: list[float]
    polarity: list[int]
    sentiment: int
    weight: float = 1.0
    categories: dict[str, str] = field(default_factory=dict)
    sentiment_label: str | None = None


def _from_labels(
    row: dict,
    label_set: LabelSet,
    categories: dict[str, str],
    sentiment: str | None,
    observed: tuple[str, ...],
    hand: bool,
    weight: float,
) -> Example:
    keys = label_set.keys
    return Example(
        id=row["id"],
        text=row["text"],
        source=row["source"],
        split=row["split"],
        hand=hand,
        presence=[float(k in categories) for k in keys],
        presence_mask=[float(k in observed) for k in keys],
        polarity=[
            label_set.polarities.index(categories[k]) if k in categories else IGNORE
            for k in keys
        ],
        sentiment=label_set.sentiments.index(sentiment) if sentiment else IGNORE,
        weight=weight,
        categories=dict(categories),
        sentiment_label=sentiment,
    )


def hand_examples(
    corpus: datasets.Dataset, annotations: list[Annotation], label_set: LabelSet
) -> list[Example]:
    """One example per hand label; every category is observed (absent = no)
    except those a migration left undecided, which are masked out."""
    rows = {row["id"]: row for row in _rows_by_id(corpus, {a.id for a in annotations})}
    missing = [a.id for a in annotations if a.id not in rows]
    if missing:
        raise ValueError(
            f"expected every annotated id in the corpus, got {len(missing)} unknown "
            f"ids such as {missing[:3]!r}; is the data folder the one labelled?"
        )

    return [
        _from_labels(
            rows[a.id],
            label_set,
            a.categories,
            a.sentiment,
            tuple(k for k in label_set.keys if k not in a.undecided),
            hand=True,
            weight=1.0,
        )
        for a in annotations
    ]


def _rows_by_id(corpus: datasets.Dataset, ids: set[str]) -> datasets.Dataset:
    return corpus.filter(lambda i: i in ids, input_columns="id")


def weak_examples(
    corpus: datasets.Dataset,
    label_set: LabelSet,
    exclude: set[str],
    splits: tuple[str, ...] = ("train",),
    weight: float = 0.5,
) -> list[Example]:
    """Examples from the sources' own labels, minus the hand-labelled ids."""
    wanted = corpus.filter(
        lambda i, s: s in splits and i not in exclude, input_columns=["id", "split"]
    )
    examples = []
    for row in wanted:
        label = weak_label(row)
        if label is None:
            continue
        examples.append(
            _from_labels(
                row,
                label_set,
                label.categories,
                label.sentiment,
                label.observed,
                hand=False,
                weight=weight,
            )
        )
    return examples


def sample_per_source(
    examples: list[Example], per_source: int, rng: random.Random
) -> list[Example]:
    """At most ``per_source`` examples of each source, so that the 49k shopping
    reviews do not drown the food and hotel ones."""
    by_source: dict[str, list[Example]] = {}
    for example in examples:
        by_source.setdefault(example.source, []).append(example)
    picked = []
    for source in sorted(by_source):
        items = by_source[source]
        picked += rng.sample(items, min(per_source, len(items)))
    return picked


def ids_hash(ids: Iterable[str]) -> str:
    """sha256 over the sorted ids a model was trained on."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def labels_hash(examples: Iterable[Example]) -> str:
    """sha256 over the hand labels by id: relabelled data gets a new digest even
    when its ids are the same."""
    lines = sorted(
        f"{e.id}\t{e.sentiment}\t{e.presence}\t{e.presence_mask}\t{e.polarity}"
        for e in examples
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
