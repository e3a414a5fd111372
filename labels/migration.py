"""Migrations as declared in a label-set file, and their validation.

Every version after the first says how its predecessor's categories map onto it,
as a list of operations applied together (not one after another)::

    migration:
      from: "1"
      operations:
        - {op: rename, from: speed, to: timeliness}
        - {op: merge, from: [attitude, professionalism], into: staff}
        - {op: split, from: delivery, into: [packaging, order_accuracy]}
        - {op: add, key: hygiene}
        - {op: retire, key: price}

A category of the predecessor named by no operation is kept under its key. The
engine that moves annotations along these declarations is :mod:`labels.migrate`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from labels.errors import LabelSetError

# op -> (fields holding old keys, fields holding new keys); "note" is always allowed
_SHAPES: dict[str, tuple[str, str]] = {
    "add": ("", "key"),
    "rename": ("from", "to"),
    "merge": ("from", "into"),
    "split": ("from", "into"),
    "retire": ("key", ""),
}
_LISTS = {("merge", "from"), ("split", "into")}  # fields that take two keys or more
MERGE_POLARITIES = ("positive", "negative", "neutral")


@dataclass(frozen=True)
class Operation:
    """One rule: ``sources`` (old keys) become ``targets`` (new keys)."""

    op: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        old_field, new_field = _SHAPES[self.op]
        record: dict[str, Any] = {"op": self.op}
        for name, keys in ((old_field, self.sources), (new_field, self.targets)):
            if name:
                record[name] = list(keys) if (self.op, name) in _LISTS else keys[0]
        if self.note:
            record["note"] = self.note
        return record

    def describe(self) -> str:
        """One line for people: ``merge  attitude + professionalism -> staff``."""
        old = (
            " + ".join(self.sources) if self.op == "merge" else ", ".join(self.sources)
        )
        new = " | ".join(self.targets)
        arrow = f"{old} -> {new}" if old and new else old or new
        return f"{self.op:<7} {arrow}"


@dataclass(frozen=True)
class Migration:
    """How version ``source`` maps onto the version that declares this."""

    source: str
    operations: tuple[Operation, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "operations": [o.to_dict() for o in self.operations],
        }


def _keys(raw: dict, op: str, name: str, where: str) -> tuple[str, ...]:
    value = raw.get(name)
    if (op, name) in _LISTS:
        ok = isinstance(value, list) and len(value) >= 2
        ok = ok and all(isinstance(v, str) for v in value)
        if not ok or len(set(value)) != len(value):
            raise LabelSetError(
                f"{where}: expected {name!r} of a {op} as a list of two or more "
                f"distinct category keys, got {value!r}"
            )
        return tuple(value)
    if not isinstance(value, str) or not value:
        raise LabelSetError(
            f"{where}: expected {name!r} of a {op} as one category key, got {value!r}"
        )
    return (value,)


def parse_operation(raw: Any, where: str) -> Operation:
    """One operation mapping; unknown ops and fields are errors."""
    if not isinstance(raw, dict) or raw.get("op") not in _SHAPES:
        got = raw.get("op") if isinstance(raw, dict) else raw
        raise LabelSetError(
            f"{where}: expected an operation with 'op' one of {list(_SHAPES)}, "
            f"got {got!r}"
        )

    op = raw["op"]
    old_field, new_field = _SHAPES[op]
    allowed = {"op", "note", old_field, new_field} - {""}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise LabelSetError(
            f"{where}: unknown field {unknown[0]!r} in a {op}; "
            f"a {op} takes {sorted(allowed)}"
        )

    sources = _keys(raw, op, old_field, where) if old_field else ()
    targets = _keys(raw, op, new_field, where) if new_field else ()
    if op == "rename" and sources == targets:
        raise LabelSetError(f"{where}: a rename of {sources[0]!r} to itself; drop it")
    return Operation(op, sources, targets, " ".join(str(raw.get("note", "")).split()))


def parse_migration(raw: Any, where: str) -> Migration:
    """The ``migration:`` block of a label-set file (its form, not its keys)."""
    if not isinstance(raw, dict):
        raise LabelSetError(
            f"{where}: expected 'migration' as a mapping with 'from' and "
            f"'operations', got {raw!r}"
        )
    unknown = sorted(set(raw) - {"from", "operations"})
    if unknown:
        raise LabelSetError(
            f"{where}: unknown field {unknown[0]!r} in 'migration'; "
            "it takes 'from' and 'operations'"
        )
    if raw.get("from") in (None, ""):
        raise LabelSetError(
            f"{where}: expected 'migration.from', the version this one follows, "
            "got none"
        )
    operations = raw.get("operations") or []
    if not isinstance(operations, list):
        raise LabelSetError(
            f"{where}: expected 'migration.operations' as a list, got {operations!r}"
        )

    return Migration(
        source=str(raw["from"]),
        operations=tuple(
            parse_operation(o, f"{where}: operation #{i}")
            for i, o in enumerate(operations, start=1)
        ),
    )


def _twice(keys: list[str]) -> list[str]:
    return sorted(k for k, n in Counter(keys).items() if n > 1)


def check_migration(
    migration: Migration,
    old_keys: tuple[str, ...],
    new_keys: tuple[str, ...],
    where: str,
) -> None:
    """Check that the operations take every old key to the new version exactly."""
    sources = [k for o in migration.operations for k in o.sources]
    targets = [k for o in migration.operations for k in o.targets]
    unknown = sorted(set(sources) - set(old_keys))
    if unknown:
        raise LabelSetError(
            f"{where}: the migration names {unknown} as categories of "
            f"v{migration.source}, whose keys are {list(old_keys)}; fix the key"
        )
    for keys, role in ((sources, "taken from"), (targets, "produced by")):
        if _twice(keys):
            raise LabelSetError(
                f"{where}: {_twice(keys)} {role} two operations; "
                "give each category exactly one rule"
            )
    _check_chains(migration, where)

    kept = [k for k in old_keys if k not in sources]
    _check_covered(migration, kept, targets, new_keys, where)


def _check_chains(migration: Migration, where: str) -> None:
    # Operations apply together, so "a -> b" with "b -> c" would be read as a
    # swap by some and as a chain by others: we refuse both readings.
    for operation in migration.operations:
        for other in migration.operations:
            shared = set(operation.targets) & set(other.sources)
            if other is not operation and shared:
                raise LabelSetError(
                    f"{where}: {sorted(shared)[0]!r} is produced by "
                    f"'{operation.describe()}' and consumed by "
                    f"'{other.describe()}' in one migration; chains and cycles "
                    "of renames are not allowed, make two versions"
                )


def _check_covered(
    migration: Migration,
    kept: list[str],
    targets: list[str],
    new_keys: tuple[str, ...],
    where: str,
) -> None:
    clash = sorted(set(kept) & set(targets))
    if clash:
        raise LabelSetError(
            f"{where}: {clash} both kept from v{migration.source} and produced by "
            "an operation; merge into it instead (from: [old, other], into: old)"
        )
    produced = set(kept) | set(targets)
    lost = [k for k in kept if k not in new_keys]
    if lost:
        raise LabelSetError(
            f"{where}: categories of v{migration.source} lost without a rule: "
            f"{lost}; add a rename, merge, split or retire for each"
        )
    missing = sorted(set(targets) - set(new_keys))
    if missing:
        raise LabelSetError(
            f"{where}: the migration produces {missing}, which this version does "
            "not define; add them to 'categories'"
        )
    unexplained = [k for k in new_keys if k not in produced]
    if unexplained:
        raise LabelSetError(
            f"{where}: categories {unexplained} appear without a rule; "
            f"add '{{op: add, key: {unexplained[0]}}}' or the rule that makes them"
        )
