"""Load every real comment set in ``shared/data`` into one schema.

Each row is one comment: a stable ``id`` (see :mod:`labels.ids`), the normalised
``text``, its ``source``, a seeded ``split`` and whatever supervision the source
itself carries (star-rating sentiment, Zhijiang aspect tuples, STC-3 dialogue
scores). Exact duplicates inside a source are dropped: they would share an id.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

import datasets

from labels.ids import comment_id, normalize_text

logger = logging.getLogger(__name__)

SOURCES = ("waimai", "hotel", "shopping", "zhijiang", "helpdesk")
SPLITS = ("train", "dev", "test")
DEFAULT_SPLIT_SEED = 2019

_BINARY_SENTIMENT = {"1": "positive", "0": "negative"}
_ZHIJIANG_POLARITY = {"正面": "positive", "负面": "negative", "中性": "neutral"}

FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "text": datasets.Value("string"),
        "source": datasets.Value("string"),
        "split": datasets.Value("string"),
        "source_sentiment": datasets.Value("string"),
        "aspects": datasets.List(
            {
                "category": datasets.Value("string"),
                "polarity": datasets.Value("string"),
                "aspect": datasets.Value("string"),
                "opinion": datasets.Value("string"),
            }
        ),
        "stc3_scores": {
            "A": datasets.Value("float32"),
            "S": datasets.Value("float32"),
            "E": datasets.Value("float32"),
        },
        "group": datasets.Value("string"),
        "dialogue_id": datasets.Value("string"),
        "turn_index": datasets.Value("int32"),
        "product_kind": datasets.Value("string"),
        "row": datasets.Value("int32"),
    }
)


@dataclass(frozen=True)
class SplitRatios:
    """Fractions of each source that go to dev and test; the rest is train."""

    dev: float = 0.1
    test: float = 0.1
    seed: int = DEFAULT_SPLIT_SEED

    def __post_init__(self) -> None:
        if not (0 <= self.dev < 1 and 0 <= self.test < 1 and self.dev + self.test < 1):
            raise ValueError(
                f"expected dev and test fractions in [0, 1) summing below 1, "
                f"got dev={self.dev!r} test={self.test!r}"
            )


def default_data_dir() -> Path:
    """``PINGJIA_DATA`` if set, else ``../shared/data`` beside the checkout."""
    configured = os.environ.get("PINGJIA_DATA")
    if configured:
        return Path(configured)

    return Path(__file__).resolve().parents[2] / "shared" / "data"


def assign_split(group: str, ratios: SplitRatios) -> str:
    """Split of a group (a comment id, or a dialogue id for helpdesk turns).

    Hashing the group rather than shuffling keeps a comment in the same split
    when the data set grows, and keeps all turns of a dialogue together.
    """
    digest = hashlib.sha1(f"{ratios.seed}:{group}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    if position < ratios.test:
        return "test"
    if position < ratios.test + ratios.dev:
        return "dev"
    return "train"


def _empty_row(source: str, text: str, row: int) -> dict[str, Any]:
    return {
        "id": comment_id(source, text),
        "text": normalize_text(text),
        "source": source,
        "split": "",
        "source_sentiment": None,
        "aspects": [],
        "stc3_scores": None,
        "group": "",
        "dialogue_id": None,
        "turn_index": None,
        "product_kind": None,
        "row": row,
    }


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from enumerate(csv.DictReader(handle), start=2)


def _iter_sentiment_csv(path: Path, source: str) -> Iterator[dict[str, Any]]:
    for number, record in _read_csv(path):
        text = record.get("review") or ""
        if not normalize_text(text):
            continue

        row = _empty_row(source, text, number)
        row["source_sentiment"] = _BINARY_SENTIMENT.get(record["label"].strip())
        row["product_kind"] = record.get("cat")
        yield row


def _iter_zhijiang(folder: Path) -> Iterator[dict[str, Any]]:
    aspects: dict[str, list[dict[str, str]]] = {}
    for _, record in _read_csv(folder / "Train_labels.csv"):
        aspects.setdefault(record["id"], []).append(
            {
                "category": record["Categories"],
                "polarity": _ZHIJIANG_POLARITY[record["Polarities"]],
                "aspect": record["AspectTerms"],
                "opinion": record["OpinionTerms"],
            }
        )

    for name, labelled in (("Train_reviews.csv", True), ("Test_reviews.csv", False)):
        for number, record in _read_csv(folder / name):
            row = _empty_row("zhijiang", record["Reviews"], number)
            row["aspects"] = aspects.get(record["id"], []) if labelled else []
            if row["text"]:
                yield row


def _dialogue_scores(dialogue: dict[str, Any]) -> dict[str, float] | None:
    annotations = dialogue.get("annotations") or []
    if not annotations:
        return None

    return {key: float(mean(a["quality"][key] for a in annotations)) for key in "ASE"}


def _iter_helpdesk(folder: Path) -> Iterator[dict[str, Any]]:
    for name in ("train_cn.jsonl", "test_cn.jsonl"):
        path = folder / name
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                dialogue = json.loads(line)
                scores = _dialogue_scores(dialogue)
                for index, turn in enumerate(dialogue["turns"]):
                    text = " ".join(u for u in turn["utterances"] if u)
                    if turn["sender"] != "customer" or not normalize_text(text):
                        continue

                    row = _empty_row("helpdesk", text, number)
                    row["stc3_scores"] = scores
                    row["dialogue_id"] = str(dialogue["id"])
                    row["turn_index"] = index
                    yield row


def iter_source(source: str, data_dir: Path) -> Iterator[dict[str, Any]]:
    """Rows of one source, before de-duplication and splitting."""
    if source not in SOURCE_FOLDERS:
        raise ValueError(f"expected one of {SOURCES}, got source {source!r}")

    folder = data_dir / SOURCE_FOLDERS[source]
    if source == "zhijiang":
        return _iter_zhijiang(folder)
    if source == "helpdesk":
        return _iter_helpdesk(folder)
    return _iter_sentiment_csv(folder / f"{SOURCE_FOLDERS[source]}.csv", source)


SOURCE_FOLDERS = {
    "waimai": "waimai_10k",
    "hotel": "ChnSentiCorp_htl_all",
    "shopping": "online_shopping_10_cats",
    "zhijiang": "zhijiang2019_ecomm",
    "helpdesk": "stc3_helpdesk",
}


def available_sources(data_dir: Path, sources: tuple[str, ...]) -> tuple[str, ...]:
    """The requested sources whose folder exists; a missing one is a warning."""
    present = tuple(s for s in sources if (data_dir / SOURCE_FOLDERS[s]).is_dir())
    for source in sorted(set(sources) - set(present)):
        logger.warning(
            "no %s folder in %s; source %r left out",
            SOURCE_FOLDERS[source],
            data_dir,
            source,
        )
    if not present:
        raise FileNotFoundError(
            f"expected at least one of {sorted(SOURCE_FOLDERS.values())} in "
            f"{str(data_dir)!r}, found none; set PINGJIA_DATA to the data folder"
        )
    return present


def _iter_corpus(
    data_dir: Path, sources: tuple[str, ...], ratios: SplitRatios
) -> Iterator[dict[str, Any]]:
    for source in available_sources(data_dir, sources):
        seen: set[str] = set()
        kept = 0
        try:
            rows = list(iter_source(source, data_dir))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # the public data sets' own shape: anything else is another file
            raise ValueError(
                f"expected the {source} data set as published in "
                f"{str(data_dir / SOURCE_FOLDERS[source])!r} (see SOURCES.md "
                f"beside it), got a file that does not fit it "
                f"({type(error).__name__}: {error}); point --data-dir or "
                "PINGJIA_DATA at the shared data folder"
            ) from None
        for row in rows:
            if row["id"] in seen:
                continue

            seen.add(row["id"])
            row["group"] = row["dialogue_id"] or row["id"]
            row["split"] = assign_split(row["group"], ratios)
            kept += 1
            yield row

        logger.info("loaded %d unique comments from %s", kept, source)


def load_corpus(
    data_dir: Path | None = None,
    sources: tuple[str, ...] = SOURCES,
    ratios: SplitRatios | None = None,
) -> datasets.Dataset:
    """All comments of ``sources`` as one :class:`datasets.Dataset`."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    if not data_dir.is_dir():
        raise FileNotFoundError(
            f"expected the data folder at {str(data_dir)!r}, found nothing; "
            "set PINGJIA_DATA or pass --data-dir to where shared/data lies"
        )

    ratios = ratios or SplitRatios()
    rows = list(_iter_corpus(data_dir, sources, ratios))
    return datasets.Dataset.from_list(rows, features=FEATURES)
