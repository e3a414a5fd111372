"""What changed between a previous model and a retrained one, per category.

Both are evaluated by :func:`training.fit.evaluate_models` on the same test
split and the same hand labels (the refined ones after an import); this module
only reads the two reports side by side.
"""

from __future__ import annotations

from typing import Any

_SUMMARY = (
    ("presence micro-F1", "presence_micro_f1"),
    ("presence macro-F1", "presence_macro_f1"),
    ("polarity accuracy", "polarity_accuracy"),
    ("sentiment accuracy", "sentiment_accuracy"),
    ("sentiment macro-F1", "sentiment_macro_f1"),
)


class ComparisonError(ValueError):
    """Two reports that cannot be read side by side."""


def _change(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def compare_results(previous: dict[str, Any], current: dict[str, Any]) -> dict:
    """Per category F1 before, after and the change; the summary metrics too."""
    versions = previous["label_set_version"], current["label_set_version"]
    if versions[0] != versions[1]:
        raise ComparisonError(
            f"expected the previous model on label set v{versions[1]} like the new "
            f"one, got v{versions[0]}; categories differ between versions, so "
            f"compare against a model trained on v{versions[1]} labels (e.g. "
            f"`pingjia train --label-set {versions[1]}` before the import)"
        )
    if previous["hand"]["examples"] != current["hand"]["examples"]:
        raise ComparisonError(
            "expected both models evaluated on the same test comments, got "
            f"{previous['hand']['examples']} and {current['hand']['examples']}"
        )

    categories = {}
    for key, after in current["hand"]["per_category"].items():
        before = previous["hand"]["per_category"][key]
        categories[key] = {
            "f1_before": before["f1"],
            "f1_after": after["f1"],
            "f1_change": after["f1"] - before["f1"],
            "support": after["support"],
        }
    summary = {
        name: {
            "before": previous["hand"][name],
            "after": current["hand"][name],
            "change": _change(previous["hand"][name], current["hand"][name]),
        }
        for _, name in _SUMMARY
    }
    return {
        "previous": previous["model_version"],
        "current": current["model_version"],
        "label_set_version": versions[1],
        "test_examples": current["hand"]["examples"],
        "per_category": categories,
        "summary": summary,
    }


def _cell(value: float | None, signed: bool = False) -> str:
    if value is None:
        return f"{'-':>9}"
    return f"{value:>+9.3f}" if signed else f"{value:>9.3f}"


def format_comparison(comparison: dict) -> str:
    """A text table: before, after and change per category, then the summary."""
    lines = [
        f"{comparison['previous']} -> {comparison['current']} on "
        f"{comparison['test_examples']} hand-labelled test comments "
        f"(label set v{comparison['label_set_version']})",
        f"{'category F1':<22}{'before':>9}{'after':>9}{'change':>9}{'support':>9}",
    ]
    for key, row in comparison["per_category"].items():
        lines.append(
            f"{key:<22}{_cell(row['f1_before'])}{_cell(row['f1_after'])}"
            f"{_cell(row['f1_change'], True)}{row['support']:>9}"
        )
    for label, name in _SUMMARY:
        row = comparison["summary"][name]
        lines.append(
            f"{label:<22}{_cell(row['before'])}{_cell(row['after'])}"
            f"{_cell(row['change'], True)}"
        )
    return "\n".join(lines)
