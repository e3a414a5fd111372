"""Label sets as data: loading and validating ``labels/sets/v*.yaml``."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

DEFAULT_VERSION = "1"
_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED_CATEGORY_FIELDS = ("key", "zh", "en", "definition")


class LabelSetError(ValueError):
    """A label-set file that does not describe a valid label set."""


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
        return {
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


def _check_values(raw: dict[str, Any], field: str, where: str) -> tuple[str, ...]:
    values = raw.get(field)
    if not isinstance(values, list) or not values or len(set(values)) != len(values):
        raise LabelSetError(
            f"{where}: expected {field!r} as a non-empty list of distinct names, "
            f"got {values!r}"
        )
    return tuple(str(v) for v in values)


def _parse_category(raw: Any, where: str) -> Category:
    if not isinstance(raw, dict):
        raise LabelSetError(f"{where}: expected a mapping per category, got {raw!r}")

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
    )


def sets_folder() -> Path:
    return Path(str(resources.files("labels") / "sets"))


def available_versions() -> list[str]:
    names = sorted(p.stem for p in sets_folder().glob("v*.yaml"))
    return [n[1:] for n in names]


def load_label_set(
    version: str = DEFAULT_VERSION, path: Path | None = None
) -> LabelSet:
    """Load label set ``version`` from the package, or from ``path``."""
    path = path or sets_folder() / f"v{version}.yaml"
    if not path.exists():
        raise FileNotFoundError(
            f"expected label set v{version} at {str(path)!r}, found nothing; "
            f"available versions: {available_versions()}"
        )

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    label_set = parse_label_set(raw, where=str(path))
    if path.stem.startswith("v") and label_set.version != path.stem[1:]:
        raise LabelSetError(
            f"{path}: expected version {path.stem[1:]!r} as the file name says, "
            f"got {label_set.version!r}"
        )
    return label_set
