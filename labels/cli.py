"""``pingjia labels``: look at label sets and the hand-annotated corpus."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from enum import StrEnum
from pathlib import Path

import typer
import yaml

from labels.active import DUPLICATE_COSINE, active_order
from labels.agreement import AgreementReport, agreement
from labels.annotations import (
    AnnotationError,
    load_hand_labels,
    load_second_pass,
    merge_annotations,
    read_annotations,
    write_annotations,
)
from labels.errors import LabelSetError
from labels.label_studio import (
    LabelStudioError,
    export_tasks,
    labeling_config,
    read_export,
)
from labels.migrate import MigrationPath, MigrationReport, migrate_annotations
from labels.migrate import migration_path as find_path
from labels.taxonomy import (
    DEFAULT_VERSION,
    latest_version,
    load_label_set,
    sets_folder,
)

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
        empty = sum(not a.categories and not a.undecided for a in items)
        typer.echo(
            f"{source:<10}{len(items):>6}  {cells} {empty:>6}"
            f"{sentiment['positive']:>6}{sentiment['negative']:>6}{sentiment['neutral']:>6}"
        )

    undecided = Counter(k for a in annotations for k in a.undecided)
    if undecided:
        typer.echo(
            "undecided since a migration (re-annotate): "
            + ", ".join(f"{k} {n}" for k, n in undecided.most_common())
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
    print_agreement(report)


def print_agreement(report: AgreementReport) -> None:
    """The agreement table: kappa and counts per category, then the summary."""
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


@app.command("agreement")
def agreement_command(
    first: Path = typer.Argument(..., help="Annotations (JSON lines)."),
    second: Path = typer.Argument(..., help="Other annotations of some same ids."),
    version: str = typer.Option(DEFAULT_VERSION, help="Label-set version of both."),
) -> None:
    """Agreement of two annotation files on the comments they share (kappa,
    presence micro-F1), e.g. a new batch against a blind second pass."""
    label_set = load_label_set(version)
    try:
        sets = [read_annotations(path, label_set) for path in (first, second)]
        report = agreement(*sets, label_set)
    except (AnnotationError, FileNotFoundError) as error:
        raise typer.BadParameter(str(error), param_hint="FIRST/SECOND") from error
    except ValueError as error:  # no id in common
        raise typer.BadParameter(
            f"{error}: {first} and {second} label different comments; compare "
            "files that annotate some of the same ids",
            param_hint="FIRST/SECOND",
        ) from error

    typer.echo(f"agreement on {report.items} comments labelled in both")
    print_agreement(report)


def _path(old: str, new: str) -> MigrationPath:
    try:
        return find_path(old, new)
    except (LabelSetError, FileNotFoundError) as error:
        raise typer.BadParameter(str(error)) from error


@app.command()
def diff(
    old: str = typer.Argument(..., metavar="OLD", help="Version migrated from."),
    new: str = typer.Argument(..., metavar="NEW", help="A later version."),
) -> None:
    """What changes from OLD to NEW: each step's operations, kept categories."""
    path = _path(old, new)
    previous = path.source
    for step in path.steps:
        typer.echo(f"v{previous.version} -> v{step.version}")
        for operation in step.migration.operations:
            why = f"  ({operation.note})" if operation.note else ""
            typer.echo(f"  {operation.describe()}{why}")
        consumed = {k for o in step.migration.operations for k in o.sources}
        kept = [k for k in previous.keys if k not in consumed]
        typer.echo(f"  kept    {', '.join(kept) or '-'}")
        for key in kept:
            if previous.category(key).definition != step.category(key).definition:
                typer.echo(f"  {key}: definition changed")
        previous = step
    if not path.steps:
        typer.echo(f"v{old} and v{new} are the same version; nothing changes")


def _print_migration(report: MigrationReport, output: Path, show_ids: int) -> None:
    typer.echo(
        f"{report.annotations} annotations moved from v{report.source} to "
        f"v{report.target} into {output}; {report.changed} changed"
    )
    typer.echo(f"{len(report.undecided_ids)} with undecided categories")
    for key, count in report.undecided.most_common():
        typer.echo(f"  {key:<16}{count:>6} undecided: re-annotate or re-predict")
    if report.conflicts:
        typer.echo(f"{len(report.conflict_ids)} merged from opposite polarities")
        for key, count in report.conflicts.most_common():
            typer.echo(f"  {key:<16}{count:>6} set neutral: worth a second look")
    for label, ids in (
        ("undecided", report.undecided_ids),
        ("conflict", report.conflict_ids),
    ):
        if ids and show_ids:
            typer.echo(f"{label} ids: {' '.join(ids[:show_ids])}")


@app.command()
def migrate(
    input: Path = typer.Argument(..., help="Annotations (JSON lines) under --from."),
    source: str = typer.Option(..., "--from", help="Version of INPUT."),
    target: str = typer.Option(..., "--to", help="Version to move to."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write."),
    show_ids: int = typer.Option(10, help="Ids listed per kind (0: none)."),
) -> None:
    """Move an annotations file to a later version; report what became undecided."""
    if output.resolve() == input.resolve():
        raise typer.BadParameter(
            f"expected an OUTPUT other than INPUT, got {str(output)!r} for both; "
            "the file under the old version is the record of what was labelled",
            param_hint="--output",
        )
    path = _path(source, target)
    try:
        annotations = read_annotations(input, path.source)
    except (AnnotationError, FileNotFoundError) as error:
        raise typer.BadParameter(str(error), param_hint="INPUT") from error

    migrated, report = migrate_annotations(annotations, path)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_annotations(output, migrated)
    _print_migration(report, output, show_ids)


@app.command()
def merge(
    base: Path = typer.Argument(..., help="Annotations (JSON lines) to update."),
    newer: list[Path] = typer.Argument(
        ..., help="Annotations that replace BASE's by id, e.g. a Label Studio import."
    ),
    version: str = typer.Option(DEFAULT_VERSION, help="Label-set version of all."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write."),
) -> None:
    """BASE with the annotations of NEWER (later files win) replacing it by id."""
    label_set = load_label_set(version)
    try:
        sets = [read_annotations(path, label_set) for path in (base, *newer)]
    except (AnnotationError, FileNotFoundError) as error:
        raise typer.BadParameter(str(error), param_hint="BASE/NEWER") from error

    merged, counts = merge_annotations(*sets)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_annotations(output, merged)
    undecided = sum(bool(a.undecided) for a in merged)
    typer.echo(
        f"{len(merged)} annotations -> {output}: {counts['kept']} kept, "
        f"{counts['replaced']} replaced, {counts['added']} added; "
        f"{undecided} still with undecided categories"
    )


_NEW_HEADER = """\
# Label set v{version}, started from v{previous} by `pingjia labels new`.
# Edit the categories, then say in migration.operations how each v{previous}
# category maps onto them (categories named by no operation are kept):
#   - {{op: rename, from: old, to: new}}
#   - {{op: merge, from: [a, b], into: c}}
#   - {{op: split, from: a, into: [b, c]}}    v{previous} labels of a: undecided
#   - {{op: add, key: d}}                    undecided on all older labels
#   - {{op: retire, key: e}}
# Check with: pingjia labels diff {previous} {version}
"""


@app.command()
def new(
    sets: Path = typer.Option(
        None, help="Folder of label sets (default: the package's)."
    ),
) -> None:
    """Start the next label-set version as a copy of the latest, with no changes."""
    folder = sets or sets_folder()
    previous = load_label_set(latest_version(folder), folder=folder)
    if not previous.version.isdigit():
        raise typer.BadParameter(
            f"expected the latest version to be a number, got {previous.version!r}; "
            "write the next file by hand"
        )

    version = str(int(previous.version) + 1)
    raw = previous.to_dict() | {"version": version}
    raw["migration"] = {"from": previous.version, "operations": []}
    path = folder / f"v{version}.yaml"
    header = _NEW_HEADER.format(version=version, previous=previous.version)
    body = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=80)
    path.write_text(header + body, encoding="utf-8")
    load_label_set(version, folder=folder)  # what we wrote must load
    typer.echo(f"wrote {path}: v{version}, a copy of v{previous.version}; edit it")


studio_app = typer.Typer(
    help="Label Studio round trip: labeling config, tasks, import of an export.",
    no_args_is_help=True,
)
app.add_typer(studio_app, name="studio")


def _read_jsonl(path: Path) -> list[dict]:
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise typer.BadParameter(
                    f"{path}:{number}: expected a JSON object per line, got "
                    f"{line[:40]!r} ({error})"
                ) from error
    return records


def _studio_set(version: str | None):
    return load_label_set(version or latest_version())


def _write_or_print(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}", err=True)


@studio_app.command("config")
def studio_config(
    version: str = typer.Option(None, help="Label-set version (default: latest)."),
    output: Path = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
) -> None:
    """The labeling config XML: sentiment, and a polarity choice per category."""
    _write_or_print(labeling_config(_studio_set(version)), output)


class TaskOrder(StrEnum):
    active = "active"
    input = "input"


def _active(
    records: list[dict],
    by_id: dict,
    diversity: float,
    duplicate_cosine: float,
    limit: int | None,
) -> list[dict]:
    texts = [str(r.get("text") or "") for r in records]
    result = active_order(
        texts,
        [by_id.get(r.get("id")) for r in records],
        diversity=diversity,
        duplicate_cosine=duplicate_cosine,
        limit=limit,
    )
    picked = result.uncertainty[result.order]
    typer.echo(
        f"active order: mean uncertainty {picked.mean():.3f} in the tasks against "
        f"{result.uncertainty.mean():.3f} over all {len(records)} comments; "
        f"{result.held_back} near-copies held back",
        err=True,
    )
    return [records[i] for i in result.order]


@studio_app.command("tasks")
def studio_tasks(
    comments: Path = typer.Argument(..., help="JSON lines with 'id' and 'text'."),
    output: Path = typer.Option(..., "--output", "-o", help="Tasks JSON to import."),
    version: str = typer.Option(None, help="Label-set version (default: latest)."),
    predictions: Path = typer.Option(
        None, help="Labels or `pingjia classify` output (JSON lines, by id)."
    ),
    model_version: str = typer.Option("pingjia", help="Name of the predictions."),
    order: TaskOrder = typer.Option(
        TaskOrder.active,
        help="active: uncertain first, near-copies last (needs --predictions for "
        "uncertainty; without it, diversity only); input: as in COMMENTS.",
    ),
    limit: int = typer.Option(None, min=1, help="At most this many tasks."),
    diversity: float = typer.Option(
        0.3, min=0.0, max=1.0, help="Weight of diversity against uncertainty."
    ),
    duplicate_cosine: float = typer.Option(
        DUPLICATE_COSINE,
        min=0.01,
        max=1.0,
        help="Cosine (character n-grams) above which a comment is a near-copy.",
    ),
) -> None:
    """Tasks for Label Studio, with predictions as pre-annotations."""
    label_set = _studio_set(version)
    by_id = {r.get("id"): r for r in _read_jsonl(predictions)} if predictions else None
    records = _read_jsonl(comments)
    if order is TaskOrder.active:
        records = _active(records, by_id or {}, diversity, duplicate_cosine, limit)
    try:
        tasks = export_tasks(records[:limit], label_set, by_id, model_version)
    except LabelStudioError as error:
        raise typer.BadParameter(str(error)) from error

    _write_or_print(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", output)
    with_predictions = sum("predictions" in t for t in tasks)
    typer.echo(
        f"{len(tasks)} tasks under v{label_set.version}, {with_predictions} with "
        "pre-annotations; the file holds comment text: keep it out of the repository",
        err=True,
    )


@studio_app.command("import")
def studio_import(
    export: Path = typer.Argument(..., help="Label Studio JSON export."),
    output: Path = typer.Option(..., "--output", "-o", help="Agreed annotations."),
    version: str = typer.Option(None, help="Label-set version (default: latest)."),
    conflicts: Path = typer.Option(None, help="Also write every annotator's labels."),
    show: int = typer.Option(20, help="Conflicts listed here (0: none)."),
) -> None:
    """Read annotations back; report agreement and list conflicts by id."""
    label_set = _studio_set(version)
    try:
        result = read_export(json.loads(export.read_text("utf-8")), label_set)
    except (LabelStudioError, json.JSONDecodeError) as error:
        raise typer.BadParameter(str(error), param_hint="EXPORT") from error

    write_annotations(output, result.agreed)
    typer.echo(
        f"{len(result.by_task)} labelled tasks: {len(result.agreed)} agreed, written "
        f"to {output}; {len(result.conflicts)} conflicts; {result.unlabelled} "
        f"without annotations; {result.cancelled} cancelled annotations left out"
    )
    if result.report:
        typer.echo(f"\nagreement of the first two annotators on {result.report.items}")
        print_agreement(result.report)
    for conflict in result.conflicts[:show]:
        typer.echo(f"conflict {conflict.describe()}")
    if conflicts:
        everyone = [a for labels in result.by_task.values() for a in labels]
        _write_all(conflicts, everyone)


def _write_all(path: Path, annotations: list) -> None:
    # one line per annotator and task: ids repeat, so not an annotations file
    lines = [json.dumps(a.to_dict(), ensure_ascii=False) + "\n" for a in annotations]
    path.write_text("".join(lines), encoding="utf-8")
    typer.echo(f"every annotator's labels in {path}")
