"""Label sets as data: loading and validating ``labels/sets/v*.yaml``."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from labels.errors import LabelSetError
from labels.migration import (
    MERGE_POLARITIES,
    Migration,
    check_migration,
    parse_migration,
)

__all__ = ["Category", "LabelSet", "LabelSetError", "load_label_set"]

logger = logging.getLogger(__name__)

DEFAULT_VERSION = "1"
_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED_CATEGORY_FIELDS = ("key", "zh", "en", "definition")
_CATEGORY_FIELDS = (*_REQUIRED_CATEGORY_FIELDS, "examples")
_TOP_FIELDS = (
    "version",
    "name",
    "description",
    "polarities",
    "sentiments",
    "categories",
    "migration",
)


@dataclass(frozen=True)
class Category:
    key: str
    zh: str
    en: str
    definition: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabelSet:
    version: str
    name: str
    categories: tuple[Category, ...]
    polarities: tuple[str, ...]
    sentiments: tuple[str, ...]
    description: str = ""
    migration: Migration | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.categories)

    def category(self, key: str) -> Category:
        for category in self.categories:
            if category.key == key:
                return category
        raise KeyError(
            f"expected a category of label set v{self.version} {self.keys}, got {key!r}"
        )

    def to_dict(self) -> dict[str, Any]:
        record = {
            "version": self.version,
            "name": self.name,
            "description": self.description,
            "polarities": list(self.polarities),
            "sentiments": list(self.sentiments),
            "categories": [
                {
                    "key": c.key,
                    "zh": c.zh,
                    "en": c.en,
                    "definition": c.definition,
                    "examples": list(c.examples),
                }
                for c in self.categories
            ],
        }
        if self.migration:
            record["migration"] = self.migration.to_dict()
        return record


def _check_values(raw: dict[str, Any], field: str, where: str) -> tuple[str, ...]:
    values = raw.get(field)
    if not isinstance(values, list) or not values or len(set(values)) != len(values):
        raise LabelSetError(
            f"{where}: expected {field!r} as a non-empty list of distinct names, "
            f"got {values!r}"
        )
    return tuple(str(v) for v in values)


def _check_fields(raw: dict, allowed: tuple[str, ...], what: str, where: str) -> None:
    unknown = sorted(str(k) for k in set(raw) - set(allowed))
    if unknown:
        raise LabelSetError(
            f"{where}: unknown field {unknown[0]!r} in {what}; "
            f"expected only {list(allowed)}"
        )


def _parse_category(raw: Any, where: str) -> Category:
    if not isinstance(raw, dict):
        raise LabelSetError(f"{where}: expected a mapping per category, got {raw!r}")
    _check_fields(raw, _CATEGORY_FIELDS, f"category {raw.get('key')!r}", where)

    missing = [f for f in _REQUIRED_CATEGORY_FIELDS if not raw.get(f)]
    if missing:
        raise LabelSetError(
            f"{where}: category {raw.get('key')!r} lacks {missing}; "
            f"each category needs {list(_REQUIRED_CATEGORY_FIELDS)}"
        )
    if not _KEY_PATTERN.match(str(raw["key"])):
        raise LabelSetError(
            f"{where}: expected a key of lower-case letters, digits and '_', "
            f"got {raw['key']!r}"
        )

    return Category(
        key=str(raw["key"]),
        zh=str(raw["zh"]),
        en=str(raw["en"]),
        definition=" ".join(str(raw["definition"]).split()),
        examples=tuple(str(e) for e in raw.get("examples") or ()),
    )


def parse_label_set(raw: Any, where: str = "label set") -> LabelSet:
    """Validate a parsed YAML document and return the :class:`LabelSet`."""
    if not isinstance(raw, dict):
        raise LabelSetError(f"{where}: expected a mapping at top level, got {raw!r}")
    if not raw.get("version"):
        raise LabelSetError(f"{where}: expected a 'version' string, got none")
    _check_fields(raw, _TOP_FIELDS, "the label set", where)

    categories = tuple(_parse_category(c, where) for c in raw.get("categories") or [])
    if not categories:
        raise LabelSetError(f"{where}: expected at least one category, got none")
    keys = [c.key for c in categories]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise LabelSetError(f"{where}: category keys must be unique, got {duplicates}")

    return LabelSet(
        version=str(raw["version"]),
        name=str(raw.get("name") or "feedback-taxonomy"),
        categories=categories,
        polarities=_check_values(raw, "polarities", where),
        sentiments=_check_values(raw, "sentiments", where),
        description=" ".join(str(raw.get("description") or "").split()),
        migration=parse_migration(raw["migration"], where)
        if "migration" in raw
        else None,
    )


def sets_folder() -> Path:
    return Path(str(resources.files("labels") / "sets"))


def _version_order(version: str) -> tuple[int, str]:
    # "10" sorts after "9"; a version that is not a number sorts last, by name
    return (int(version), "") if version.isdigit() else (10**9, version)


def available_versions(folder: Path | None = None) -> list[str]:
    names = [p.stem[1:] for p in (folder or sets_folder()).glob("v*.yaml")]
    return sorted(names, key=_version_order)


def latest_version(folder: Path | None = None) -> str:
    return available_versions(folder)[-1]


def load_label_set(
    version: str = DEFAULT_VERSION,
    path: Path | None = None,
    folder: Path | None = None,
) -> LabelSet:
    """Load label set ``version`` from ``folder`` (default: the package), or ``path``.

    A later version is checked against its predecessor, and that one against its
    own, back to the first: every category must be carried by a rule.
    """
    return _load(version, path, folder, chain=())


def _load(
    version: str, path: Path | None, folder: Path | None, chain: tuple[str, ...]
) -> LabelSet:
    folder = folder or (path.parent if path else sets_folder())
    path = path or folder / f"v{version}.yaml"
    if not path.exists():
        raise FileNotFoundError(
            f"expected label set v{version} at {str(path)!r}, found nothing; "
            f"available versions: {available_versions(folder)}"
        )

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    label_set = parse_label_set(raw, where=str(path))
    if path.stem.startswith("v") and label_set.version != path.stem[1:]:
        raise LabelSetError(
            f"{path}: expected version {path.stem[1:]!r} as the file name says, "
            f"got {label_set.version!r}"
        )
    if label_set.migration:
        _check_predecessor(label_set, folder, (*chain, label_set.version), str(path))
    return label_set


def _check_predecessor(
    label_set: LabelSet, folder: Path, chain: tuple[str, ...], where: str
) -> None:
    source = label_set.migration.source
    if source in chain:
        cycle = " from ".join(f"v{v}" for v in (*chain, source))
        raise LabelSetError(
            f"{where}: migrations form a cycle ({cycle}); each version must "
            "follow an earlier one, back to v1"
        )

    previous = _load(source, None, folder, chain)
    for field in ("polarities", "sentiments"):
        if getattr(previous, field) != getattr(label_set, field):
            raise LabelSetError(
                f"{where}: expected the {field} of v{source} "
                f"{list(getattr(previous, field))}, got "
                f"{list(getattr(label_set, field))}; migrations map categories "
                "only, so a new version keeps both lists"
            )
    check_migration(label_set.migration, previous.keys, label_set.keys, where)
    merges = any(o.op == "merge" for o in label_set.migration.operations)
    if merges and not set(MERGE_POLARITIES) <= set(label_set.polarities):
        raise LabelSetError(
            f"{where}: a merge combines polarities by the rule for "
            f"{list(MERGE_POLARITIES)}, got polarities {list(label_set.polarities)}"
        )
