"""``pingjia corpus``, ``pingjia train``, ``pingjia evaluate``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

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
        raise typer.Exit(1)
