"""The migration engine: move labels from one label-set version to a later one.

A category of an annotation is in one of three states: present with a polarity,
absent, or *undecided* (nobody has said yet). The operations of each step act on
these states:

- ``rename``: the state moves to the new key.
- ``merge``: present when any source is present, with the polarities combined by
  :func:`merge_polarities`; otherwise undecided when any source is undecided.
- ``split``: a present or undecided source leaves every part undecided, because
  the old label does not say which part the comment spoke about. Absent stays
  absent: a comment that did not speak of the whole spoke of no part.
- ``add``: undecided on every migrated annotation; the old labels never asked.
- ``retire``: the category and its label are dropped.

Undecided categories stay so until the comment is re-annotated or re-predicted.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from labels.annotations import Annotation
from labels.errors import MigrationError
from labels.migration import Migration, Operation
from labels.taxonomy import LabelSet, load_label_set

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Labels:
    """Category states under one version: present (key -> polarity) and undecided."""

    categories: dict[str, str]
    undecided: frozenset[str] = frozenset()
    # merge targets whose sources had opposite polarities (see merge_polarities)
    conflicts: tuple[str, ...] = ()


def merge_polarities(polarities: list[str]) -> tuple[str, bool]:
    """The polarity of a merged category, and whether its sources conflicted.

    Agreeing sources keep their polarity; ``neutral`` yields to a positive or a
    negative one; positive against negative gives ``neutral``, as the v1 guide
    rules for praise and complaint of similar weight about one aspect. The
    conflict is reported, so the comment can be looked at again.
    """
    leaning = set(polarities) - {"neutral"}
    if not leaning:
        return "neutral", False
    if len(leaning) == 1:
        return leaning.pop(), False
    return "neutral", True


def _carry(operation: Operation, labels: Labels) -> tuple[dict, set, list]:
    """What one operation makes of its sources: (present, undecided, conflicts)."""
    polarities = [
        labels.categories[k] for k in operation.sources if k in labels.categories
    ]
    unsure = any(k in labels.undecided for k in operation.sources)
    if operation.op == "retire":
        return {}, set(), []
    if operation.op in ("add", "split"):
        touched = operation.op == "add" or polarities or unsure
        return {}, set(operation.targets) if touched else set(), []

    target = operation.targets[0]  # a rename or a merge
    if polarities:
        polarity, conflict = merge_polarities(polarities)
        return {target: polarity}, set(), [target] if conflict else []
    return {}, {target} if unsure else set(), []


def apply_step(
    migration: Migration, new_keys: tuple[str, ...], labels: Labels
) -> Labels:
    """One version forward; ``new_keys`` orders the result."""
    consumed = {k for o in migration.operations for k in o.sources}
    present = {k: p for k, p in labels.categories.items() if k not in consumed}
    undecided = set(labels.undecided - consumed)
    conflicts = list(labels.conflicts)
    for operation in migration.operations:
        more_present, more_undecided, more_conflicts = _carry(operation, labels)
        present |= more_present
        undecided |= more_undecided
        conflicts += more_conflicts

    order = {k: i for i, k in enumerate(new_keys)}
    return Labels(
        categories=dict(sorted(present.items(), key=lambda kv: order[kv[0]])),
        undecided=frozenset(undecided),
        conflicts=tuple(conflicts),
    )


@dataclass(frozen=True)
class MigrationPath:
    """The chain of versions from ``source`` to the last of ``steps``."""

    source: LabelSet
    steps: tuple[LabelSet, ...]  # each later version, holding its migration

    @property
    def target(self) -> LabelSet:
        return self.steps[-1] if self.steps else self.source

    def apply(
        self, categories: dict[str, str], undecided: tuple[str, ...] = ()
    ) -> Labels:
        labels = Labels(dict(categories), frozenset(undecided))
        for step in self.steps:
            labels = apply_step(step.migration, step.keys, labels)
        return labels

    def origins(self) -> dict[str, tuple[str, ...]]:
        """For each target key, the source keys whose labels flow into it."""
        origins = {k: (k,) for k in self.source.keys}
        for step in self.steps:
            consumed = {k for o in step.migration.operations for k in o.sources}
            moved = {k: v for k, v in origins.items() if k not in consumed}
            for operation in step.migration.operations:
                flow = tuple(k for s in operation.sources for k in origins[s])
                moved |= dict.fromkeys(operation.targets, flow)
            origins = {k: moved[k] for k in step.keys}
        return origins

    def migrate_annotation(self, annotation: Annotation) -> tuple[Annotation, Labels]:
        labels = self.apply(annotation.categories, annotation.undecided)
        order = self.target.keys
        migrated = replace(
            annotation,
            categories=labels.categories,
            undecided=tuple(k for k in order if k in labels.undecided),
        )
        return migrated, labels


def migration_path(old: str, new: str, folder: Path | None = None) -> MigrationPath:
    """The versions leading from ``old`` to ``new``; migrations go forward only."""
    source = load_label_set(old, folder=folder)
    current = load_label_set(new, folder=folder)
    steps: list[LabelSet] = []
    while current.version != source.version:
        if current.migration is None:
            ancestors = [f"v{s.version}" for s in (*reversed(steps), current)][1:]
            raise MigrationError(
                f"expected a chain of migrations from v{old} to v{new}, got none: "
                f"v{old} is not among the versions v{new} descends from "
                f"({', '.join(ancestors) or 'none'}). Migrations go forward, from "
                f"an older version to a newer one; label or train under v{new}"
            )
        steps.append(current)
        current = load_label_set(current.migration.source, folder=folder)
    return MigrationPath(source=source, steps=tuple(reversed(steps)))


@dataclass
class MigrationReport:
    """What a migration of many annotations did, by category of the target."""

    source: str
    target: str
    annotations: int = 0
    changed: int = 0
    undecided: Counter = field(default_factory=Counter)
    conflicts: Counter = field(default_factory=Counter)
    undecided_ids: list[str] = field(default_factory=list)
    conflict_ids: list[str] = field(default_factory=list)


def migrate_annotations(
    annotations: list[Annotation], path: MigrationPath
) -> tuple[list[Annotation], MigrationReport]:
    """Every annotation moved along ``path``, and the report of what changed."""
    report = MigrationReport(path.source.version, path.target.version)
    migrated = []
    for annotation in annotations:
        moved, labels = path.migrate_annotation(annotation)
        migrated.append(moved)
        report.annotations += 1
        report.changed += moved != annotation
        report.undecided.update(moved.undecided)
        report.conflicts.update(labels.conflicts)
        if moved.undecided:
            report.undecided_ids.append(moved.id)
        if labels.conflicts:
            report.conflict_ids.append(moved.id)

    logger.info(
        "migrated %d annotations from v%s to v%s: %d changed, %d with undecided "
        "categories",
        report.annotations,
        report.source,
        report.target,
        report.changed,
        len(report.undecided_ids),
    )
    return migrated, report
