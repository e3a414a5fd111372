"""Label-set files written in the tests: v1 copied, later versions made up."""

from __future__ import annotations

from pathlib import Path

import yaml

from labels.taxonomy import load_label_set


def category(key: str) -> dict:
    return {"key": key, "zh": "测试", "en": key, "definition": f"about {key}"}


def write_set(
    folder: Path,
    version: str,
    keys: list[str],
    operations: list[dict] | None = None,
    source: str | None = None,
    **extra,
) -> Path:
    """``folder/v{version}.yaml`` with ``keys``, migrating from ``source``."""
    raw = load_label_set("1").to_dict()
    raw["version"] = version
    raw["categories"] = [category(k) for k in keys]
    if operations is not None:
        raw["migration"] = {
            "from": source or str(int(version) - 1),
            "operations": operations,
        }
    raw.update(extra)
    path = folder / f"v{version}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


V1_KEYS = list(load_label_set("1").keys)
