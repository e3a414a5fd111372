"""Hand annotations: one JSON line per comment id, checked against a label set.

A line reads ``{"id": ..., "sentiment": ..., "categories": {key: polarity},
"annotator": ...}``, plus ``"undecided": [key, ...]`` for categories that a
migration left open (see :mod:`labels.migrate`): nobody has said yet whether they
apply. Files hold ids and labels only, never comment text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from labels.taxonomy import LabelSet

logger = logging.getLogger(__name__)


class AnnotationError(ValueError):
    """An annotation line that does not fit its label set."""


@dataclass(frozen=True)
class Annotation:
    id: str
    sentiment: str
    categories: dict[str, str] = field(default_factory=dict)
    annotator: str = ""
    note: str = ""
    undecided: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.id,
            "sentiment": self.sentiment,
            "categories": dict(sorted(self.categories.items())),
            "annotator": self.annotator,
        }
        if self.undecided:
            record["undecided"] = list(self.undecided)
        if self.note:
            record["note"] = self.note
        return record


def data_folder(version: str) -> Path:
    return Path(str(resources.files("labels") / "data" / f"v{version}"))


def parse_annotation(raw: Any, label_set: LabelSet, where: str) -> Annotation:
    """Check one parsed line; the error says which field was wrong and how."""
    if not isinstance(raw, dict):
        raise AnnotationError(f"{where}: expected a JSON object, got {raw!r}")
    if not isinstance(raw.get("id"), str) or not raw["id"]:
        raise AnnotationError(
            f"{where}: expected a non-empty 'id', got {raw.get('id')!r}"
        )

    sentiment = raw.get("sentiment")
    if sentiment not in label_set.sentiments:
        raise AnnotationError(
            f"{where}: expected 'sentiment' in {label_set.sentiments}, "
            f"got {sentiment!r}"
        )
    categories = raw.get("categories", {})
    if not isinstance(categories, dict):
        raise AnnotationError(
            f"{where}: expected 'categories' as an object of key -> polarity, "
            f"got {categories!r}"
        )
    for key, polarity in categories.items():
        if key not in label_set.keys:
            raise AnnotationError(
                f"{where}: expected a category of v{label_set.version} "
                f"{label_set.keys}, got {key!r}"
            )
        if polarity not in label_set.polarities:
            raise AnnotationError(
                f"{where}: expected polarity of {key!r} in {label_set.polarities}, "
                f"got {polarity!r}"
            )

    return Annotation(
        id=raw["id"],
        sentiment=sentiment,
        categories=dict(categories),
        annotator=str(raw.get("annotator") or ""),
        note=str(raw.get("note") or ""),
        undecided=_parse_undecided(raw, label_set, where),
    )


def _parse_undecided(raw: dict, label_set: LabelSet, where: str) -> tuple[str, ...]:
    undecided = raw.get("undecided", [])
    if not isinstance(undecided, list) or any(
        k not in label_set.keys for k in undecided
    ):
        raise AnnotationError(
            f"{where}: expected 'undecided' as a list of categories of "
            f"v{label_set.version} {label_set.keys}, got {undecided!r}"
        )
    both = sorted(set(undecided) & set(raw.get("categories", {})))
    if both:
        raise AnnotationError(
            f"{where}: {both} both labelled and undecided; drop them from "
            "'undecided' once decided"
        )
    return tuple(undecided)


def read_annotations(path: Path, label_set: LabelSet) -> list[Annotation]:
    """All annotations of a JSON-lines file; a duplicate id is an error."""
    annotations: list[Annotation] = []
    seen: set[str] = set()
    if Path(path).is_dir():
        raise AnnotationError(f"expected an annotation file, got the folder {path}")
    with Path(path).open("rb") as handle:
        for number, raw_line in enumerate(handle, start=1):
            where = f"{path}:{number}"
            try:
                line = raw_line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                raise AnnotationError(
                    f"{where}: not UTF-8 ({error.reason} at byte {error.start}); "
                    "annotation files are UTF-8 JSON lines"
                ) from None
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as error:
                raise AnnotationError(f"{where}: not valid JSON ({error})") from error

            annotation = parse_annotation(raw, label_set, where)
            if annotation.id in seen:
                raise AnnotationError(f"{where}: id {annotation.id!r} appears twice")
            seen.add(annotation.id)
            annotations.append(annotation)
    return annotations


def write_annotations(path: Path, annotations: Iterable[Annotation]) -> int:
    count = 0
    with Path(path).open("w", encoding="utf-8") as handle:
        for annotation in annotations:
            handle.write(json.dumps(annotation.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    return count


def load_hand_labels(label_set: LabelSet) -> list[Annotation]:
    """The project's main hand-annotated set for ``label_set``."""
    return read_annotations(
        data_folder(label_set.version) / "annotations.jsonl", label_set
    )


def load_second_pass(label_set: LabelSet) -> list[Annotation]:
    """Independent second labels of a subset, for the agreement study."""
    path = data_folder(label_set.version) / "second-pass.jsonl"
    return read_annotations(path, label_set)


def merge_annotations(
    base: Iterable[Annotation], *newer: Iterable[Annotation]
) -> tuple[list[Annotation], dict[str, int]]:
    """``base`` with each later set's annotations replacing it by comment id.

    Re-annotated comments keep their place; comments new to ``base`` come at
    the end in the order given. Returns the merged list and counts of what
    was ``kept``, ``replaced`` and ``added``.
    """
    merged = {a.id: a for a in base}
    later = [a for each in newer for a in each]
    touched = {a.id for a in later}
    counts = {
        "kept": len(merged.keys() - touched),
        "replaced": len(merged.keys() & touched),
        "added": len(touched - merged.keys()),
    }
    merged.update((a.id, a) for a in later)
    return list(merged.values()), counts
