"""The model card: README.md in each model folder, for a reader without context."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _depth(config: dict) -> str:
    layers = config.get("encoder_layers", 0)
    return f", its lowest {layers} layers only" if layers else ""


def _pooling(pooling: str) -> str:
    if pooling == "category_attention":
        return (
            "one learned attention query per category over the comment's tokens "
            "(the sentiment head reads their mean)"
        )
    return "the mean of the comment's token vectors"


def _lexical(calibration: dict[str, Any]) -> str:
    presence = calibration.get("lexical_presence", 0.0)
    sentiment = calibration.get("lexical_sentiment", 0.0)
    if not (presence or sentiment):
        return "encoder alone (no lexical blend)"
    return (
        "blended with a jieba TF-IDF model in `lexical/`, trained on the same "
        f"data; its share, chosen on dev: {presence:.0%} of the category scores, "
        f"{sentiment:.0%} of the sentiment and polarity scores"
    )


def render_card(
    provenance: dict[str, Any],
    metrics: dict[str, Any],
    categories: list[dict[str, str]],
    calibration: dict[str, Any] | None = None,
) -> str:
    hand = metrics["hand"]
    config = provenance["train_config"]
    calibration = calibration or {}
    lines = [
        f"# {provenance['model_version']}",
        "",
        "A pingjia classifier of Chinese customer comments. For each comment it",
        "returns the overall sentiment (positive / negative / neutral) and the",
        "categories the comment speaks about, each with a polarity and a",
        "calibrated score. A category is reported when its score reaches the",
        "category's threshold (`calibration.json`, chosen on the dev split).",
        "",
        "## What made it",
        f"- base encoder: `{provenance['base_encoder']}`{_depth(config)}",
        f"- label set: v{provenance['label_set_version']}",
        f"- trained on {provenance['train_ids_count']} comment ids, sha256 "
        f"`{provenance['train_ids_sha256'][:16]}…` (hand labels plus star-rating "
        "and Zhijiang weak labels; ids only, see `provenance.json`); hand "
        f"labels sha256 `{provenance.get('train_labels_sha256', '-')[:16]}…`",
        f"- seed {config['seed']}, {config['epochs']} epochs at most, time budget "
        f"{config['time_budget_minutes']} min, lowest {config['freeze_layers']} "
        "encoder layers and the word-embedding table frozen; encoder matmuls in "
        f"{config.get('precision', 'fp32')}",
        f"- category heads: {_pooling(config.get('pooling', 'mean'))}",
        f"- {_lexical(calibration)}",
        f"- created {provenance['created']}",
        "",
        f"## Categories (label set v{provenance['label_set_version']})",
        "",
        "| key | 中文 | precision | recall | F1 | test support |",
        "|---|---|---|---|---|---|",
    ]
    for category in categories:
        row = hand["per_category"][category["key"]]
        lines.append(
            f"| `{category['key']}` | {category['zh']} | {_pct(row['precision'])} | "
            f"{_pct(row['recall'])} | {_pct(row['f1'])} | {row['support']} |"
        )
    lines += [
        "",
        f"## Test figures ({hand['examples']} hand-labelled test comments)",
        f"- category presence micro-F1: {_pct(hand['presence_micro_f1'])}"
        + _spread(hand, "presence_micro_f1"),
        f"- polarity accuracy on found categories: {_pct(hand['polarity_accuracy'])}",
        f"- overall sentiment accuracy: {_pct(hand['sentiment_accuracy'])}"
        + _spread(hand, "sentiment_accuracy")
        + f", macro-F1 {_pct(hand['sentiment_macro_f1'])}",
        f"- expected calibration error: sentiment {hand['ece_sentiment']:.3f}, "
        f"presence {hand['ece_presence']:.3f}",
    ]
    for source, row in hand["per_source"].items():
        lines.append(
            f"- {source}: sentiment macro-F1 {_pct(row['sentiment_macro_f1'])}, "
            f"presence micro-F1 {_pct(row['presence_micro_f1'])} "
            f"({row['examples']} comments)"
        )
    for source, row in metrics.get("source_sentiment", {}).items():
        lines.append(
            f"- {source} star-rating sentiment accuracy: {_pct(row['accuracy'])}"
            + _spread({"intervals": {"accuracy": row.get("interval")}}, "accuracy")
            + f" ({row['examples']} test comments)"
        )
    lines += [
        "",
        "## Limits",
        "- Trained on food delivery, hotel, e-commerce and Weibo helpdesk comments;",
        "  other domains will score lower.",
        f"- Training reads the first {config['train_window_tokens']} tokens of a "
        "comment; prediction reads the",
        "  whole comment in windows of 128 tokens, up to 16 windows (about 1,800",
        "  Chinese characters); past that the output says `truncated: true`.",
        "- `review: true` marks comments a person should check: a category score",
        "  near its threshold, or a sentiment score below 0.6.",
        "",
        "## Use",
        "```bash",
        "pingjia classify comments.jsonl -o labelled.jsonl --model THIS_FOLDER",
        "```",
    ]
    return "\n".join(lines) + "\n"


def _spread(figures: dict, key: str) -> str:
    """' (95% interval a-b)', or nothing for metrics written before intervals."""
    bounds = (figures.get("intervals") or {}).get(key)
    if not bounds:
        return ""
    return f" (95% interval {_pct(bounds[0])}-{_pct(bounds[1])})"


def write_card(
    folder: Path,
    provenance: dict,
    metrics: dict,
    categories: list[dict[str, str]],
    calibration: dict[str, Any] | None = None,
) -> None:
    (Path(folder) / "README.md").write_text(
        render_card(provenance, metrics, categories, calibration), "utf-8"
    )
