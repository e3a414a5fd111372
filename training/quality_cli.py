"""``pingjia labels suspects``: hand labels to look at again, queued for review."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer

from labels.annotations import load_hand_labels, read_annotations
from labels.taxonomy import DEFAULT_VERSION, load_label_set
from training.corpus import load_corpus
from training.label_quality import by_comment, find_suspects


def _texts(data_dir: Path | None, ids: set[str]) -> dict[str, str]:
    corpus = load_corpus(data_dir)
    found = corpus.filter(lambda i: i in ids, input_columns="id")
    texts = dict(zip(found["id"], found["text"], strict=True))
    missing = sorted(ids - set(texts))
    if missing:
        raise typer.BadParameter(
            f"expected every annotated id in the corpus, got {len(missing)} unknown "
            f"ids such as {missing[:3]!r}; is --data-dir the folder that was labelled?"
        )
    return texts


def _write_lines(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
    path.write_text("".join(lines), encoding="utf-8")


def suspects_command(
    output: Path = typer.Option(
        ..., "--output", "-o", help="Comments to review: JSON lines id, text, check."
    ),
    predictions_output: Path = typer.Option(
        None, help="Their labels as given, for pre-annotations (default: OUTPUT-pred)."
    ),
    version: str = typer.Option(DEFAULT_VERSION, help="Label-set version."),
    annotations: Path = typer.Option(
        None, help="Labels file (default: the packaged hand labels of VERSION)."
    ),
    data_dir: Path = typer.Option(None, help="Folder of the data sets (shared/data)."),
    folds: int = typer.Option(5, min=2, help="Cross-validation folds."),
    seed: int = typer.Option(13, help="Seed of the fold split."),
    top: int = typer.Option(200, min=0, help="At most this many comments (0: all)."),
) -> None:
    """Hand labels that are probably wrong (cleanlab on out-of-fold TF-IDF
    predictions), written as comments and predictions for `labels studio tasks`."""
    label_set = load_label_set(version)
    labelled = (
        read_annotations(annotations, label_set)
        if annotations
        else load_hand_labels(label_set)
    )
    texts = _texts(data_dir, {a.id for a in labelled})
    try:
        suspects = find_suspects(
            labelled, [texts[a.id] for a in labelled], label_set, folds, seed
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error

    grouped = list(by_comment(suspects).items())[: top or None]
    given = {a.id: a for a in labelled}
    _write_lines(
        output,
        [
            {
                "id": i,
                "text": texts[i],
                "check": "复核 check: " + "; ".join(s.describe() for s in doubts),
                "suspects": [s.__dict__ for s in doubts],
            }
            for i, doubts in grouped
        ],
    )
    predictions_output = predictions_output or output.with_name(
        output.stem + "-pred" + output.suffix
    )
    _write_lines(
        predictions_output,
        [
            given[i].to_dict() | {"uncertainty": 1 - doubts[0].self_confidence}
            for i, doubts in grouped
        ],
    )
    _report(suspects, grouped, len(labelled), output, predictions_output)


def _report(suspects, grouped, labelled: int, output: Path, predictions: Path) -> None:
    fields = Counter(s.field for s in suspects)
    typer.echo(
        f"{len(suspects)} doubted labels on {len({s.id for s in suspects})} of "
        f"{labelled} comments: "
        + ", ".join(f"{k} {n}" for k, n in fields.most_common())
    )
    for comment_id, doubts in grouped[:10]:
        typer.echo(f"  {comment_id}  " + "; ".join(s.describe() for s in doubts))
    typer.echo(
        f"{len(grouped)} comments to review in {output} (holds comment text: keep "
        f"it out of the repository), their labels as given in {predictions}; "
        f"queue them with: pingjia labels studio tasks {output} --predictions "
        f"{predictions} -o tasks.json"
    )
