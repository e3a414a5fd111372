"""``pingjia labels``: look at label sets and the hand-annotated corpus."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import typer

from labels.agreement import agreement
from labels.annotations import load_hand_labels, load_second_pass
from labels.taxonomy import DEFAULT_VERSION, load_label_set

app = typer.Typer(help="Label sets, annotations and agreement.", no_args_is_help=True)


def source_of(comment_id: str) -> str:
    return comment_id.split("-", 1)[0]


@app.command()
def show(
    version: str = typer.Option(DEFAULT_VERSION, help="Label-set version."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print a label set: keys, Chinese and English names, definitions."""
    label_set = load_label_set(version)
    if as_json:
        typer.echo(json.dumps(label_set.to_dict(), ensure_ascii=False, indent=2))
        return

    typer.echo(f"label set v{label_set.version} ({label_set.name})")
    typer.echo(f"polarities: {', '.join(label_set.polarities)}")
    for category in label_set.categories:
        typer.echo(f"  {category.key:<16} {category.zh}  {category.en}")
        typer.echo(f"  {'':<16} {category.definition}")


def _print_distribution(version: str) -> None:
    label_set = load_label_set(version)
    annotations = load_hand_labels(label_set)
    by_source: dict[str, list] = defaultdict(list)
    for annotation in annotations:
        by_source[source_of(annotation.id)].append(annotation)

    typer.echo(f"hand labels under v{version}: {len(annotations)} comments")
    header = f"{'source':<10}{'n':>6}  " + " ".join(
        f"{k[:6]:>7}" for k in label_set.keys
    )
    typer.echo(header + "   none   pos   neg   neu")
    for source, items in sorted(by_source.items()):
        present = Counter(k for a in items for k in a.categories)
        sentiment = Counter(a.sentiment for a in items)
        cells = " ".join(f"{present[k]:>7}" for k in label_set.keys)
        empty = sum(not a.categories for a in items)
        typer.echo(
            f"{source:<10}{len(items):>6}  {cells} {empty:>6}"
            f"{sentiment['positive']:>6}{sentiment['negative']:>6}{sentiment['neutral']:>6}"
        )

    polarity = Counter((k, p) for a in annotations for k, p in a.categories.items())
    typer.echo(
        "category polarity (pos/neg/neu): "
        + "; ".join(
            f"{k} " + "/".join(str(polarity[k, p]) for p in label_set.polarities)
            for k in label_set.keys
        )
    )


def _print_agreement(version: str) -> None:
    label_set = load_label_set(version)
    report = agreement(
        load_hand_labels(label_set), load_second_pass(label_set), label_set
    )
    typer.echo(f"\nagreement of two independent annotations on {report.items} comments")
    typer.echo(
        f"{'category':<16}{'kappa':>7}{'first':>7}{'second':>7}{'both':>6}{'pol.agree':>11}"
    )
    for row in report.categories:
        polarity = (
            "-" if row.polarity_agreement is None else f"{row.polarity_agreement:.2f}"
        )
        typer.echo(
            f"{row.key:<16}{row.kappa:>7.2f}{row.present_first:>7}"
            f"{row.present_second:>7}{row.both:>6}{polarity:>11}"
        )
    typer.echo(
        f"sentiment kappa {report.sentiment_kappa:.2f} "
        f"(raw agreement {report.sentiment_agreement:.2f}); "
        "category presence micro-F1 between annotators "
        f"{report.presence_micro_f1:.2f}; "
        f"exact match {report.exact_match:.2f}"
    )


@app.command()
def stats(
    version: str = typer.Option(DEFAULT_VERSION, help="Label-set version."),
) -> None:
    """Counts and label distribution per source, and inter-annotator agreement."""
    _print_distribution(version)
    _print_agreement(version)
