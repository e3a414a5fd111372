"""``pingjia report``: attribution, cases, agenda, demo, render.

Every report reads labelled records from a file (JSON lines, CSV, Parquet;
see :mod:`serving.records`) or, with ``--db URL``, from the feedback store.
The output format follows ``--format`` or the extension of ``-o``.
"""

from __future__ import annotations

import csv
import json
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from serving.reports.data import Period, ReportInputError, parse_period
from serving.reports.render import write_report

logger = logging.getLogger(__name__)

app = typer.Typer(
    help="Reports for people: attribution, training cases, retrospective agendas.",
    no_args_is_help=True,
)

_INPUT = typer.Argument(
    None, help="Labelled records (classify output): .jsonl, .csv or .parquet."
)
_DB = typer.Option(
    None, "--db", help="Read from the feedback store at this SQLAlchemy URL instead."
)
_FORMAT = typer.Option(None, "--format", "-f", help="json, md or html.")
_OUTPUT = typer.Option(
    None, "-o", "--output", help="File to write; its extension sets the format."
)


def _read_file(path: Path) -> list[dict[str, Any]]:
    from serving.records import RowError, read_records

    records, bad = [], []
    for _, row in read_records(str(path)):
        (bad if isinstance(row, RowError) else records).append(row)
    for error in bad[:5]:
        typer.echo(f"skipped row {error.row}: {error.reason}", err=True)
    for record in records:
        # CSV keeps nested labels as JSON text (serving.records.write_records).
        for key in ("sentiment", "categories"):
            if isinstance(record.get(key), str) and record[key][:1] in "[{":
                record[key] = json.loads(record[key])
    return records


def _load(
    source: Path | None, db: str | None, periods: list[Period | None]
) -> list[dict[str, Any]]:
    if (source is None) == (db is None):
        raise ReportInputError(
            f"expected either an input file or --db URL, got file={source!r} and "
            f"db={db!r}; pass exactly one"
        )
    if source is not None:
        return _read_file(source)

    known = [p for p in periods if p is not None]
    since = min(p.start for p in known) if known else None
    until = max(p.end for p in known) + timedelta(days=1) if known else None
    store = _open_existing(db)
    try:
        return list(store.records(since=_at(since), until=_at(until)))
    finally:
        store.close()


def _open_existing(db: str):
    """The store at ``db``; a report reads one, so a missing SQLite file is an
    error rather than an empty store made on the spot."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from serving.store import FeedbackStore
    from serving.store.store import StoreError

    try:
        url = make_url(db)
    except ArgumentError as error:
        raise ReportInputError(
            f"expected a database URL such as sqlite:///path/feedback.db, got "
            f"{db!r} ({error})"
        ) from None
    database = url.database if url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:" and not Path(database).exists():
        raise ReportInputError(
            f"expected a feedback store at {database!r}, found no file; ingest "
            "comments first (`pingjia ingest FILE --db URL`) or fix --db"
        )
    try:
        return FeedbackStore(db)
    except StoreError as error:
        raise ReportInputError(str(error)) from error


def _at(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day) if day else None


def _fail(error: Exception) -> None:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(2)


@app.command("attribution")
def attribution_command(
    source: Path = _INPUT,
    category: str = typer.Option(..., "--category", "-c", help="e.g. speed."),
    period: str = typer.Option(None, help="START:END (default: last 4 weeks)."),
    baseline: str = typer.Option(None, help="START:END (default: period before)."),
    by: str = typer.Option("agent_id", help="agent_id or team."),
    polarity: str = typer.Option("negative", help="negative, positive or neutral."),
    events: Path = typer.Option(None, help="Events file (.csv or .jsonl)."),
    alpha: float = typer.Option(0.05, help="False discovery rate / test level."),
    window: int = typer.Option(7, help="Days between change point and event."),
    db: str = _DB,
    fmt: str = _FORMAT,
    output: Path = _OUTPUT,
) -> None:
    """Is a rise in negative feedback individual (agents) or systemic (process)?"""
    from serving.reports.attribution import attribution_report, read_events

    try:
        wanted = parse_period(period) if period else None
        base = parse_period(baseline) if baseline else None
        records = _load(source, db, [])
        report = attribution_report(
            records,
            category,
            period=wanted,
            baseline=base,
            by=by,
            polarity=polarity,
            events=read_events(events) if events else None,
            alpha=alpha,
            event_window_days=window,
        )
        write_report(report, output, fmt)
    except ReportInputError as error:
        _fail(error)


@app.command("cases")
def cases_command(
    source: Path = _INPUT,
    category: list[str] = typer.Option(
        None, "--category", "-c", help="Categories (default: all)."
    ),
    n: int = typer.Option(5, "-n", help="Cases per category."),
    period: str = typer.Option(None, help="START:END (default: all records)."),
    min_score: float = typer.Option(0.7, help="Least presence/polarity score."),
    max_similarity: float = typer.Option(0.5, help="Cosine cap between cases."),
    db: str = _DB,
    fmt: str = _FORMAT,
    output: Path = _OUTPUT,
) -> None:
    """Typical, diverse, confident negative comments per category, masked."""
    from serving.reports.cases import training_cases

    try:
        wanted = parse_period(period) if period else None
        records = _load(source, db, [wanted])
        report = training_cases(
            records,
            categories=category or None,
            n=n,
            period=wanted,
            min_score=min_score,
            max_similarity=max_similarity,
        )
        write_report(report, output, fmt)
    except ReportInputError as error:
        _fail(error)


@app.command("agenda")
def agenda_command(
    source: Path = _INPUT,
    period: str = typer.Option(None, help="START:END (default: last 4 weeks)."),
    previous_agenda: Path = typer.Option(
        None, help="JSON of the last agenda, to follow its items up."
    ),
    events: Path = typer.Option(None, help="Events file (.csv or .jsonl)."),
    by: str = typer.Option("agent_id", help="agent_id or team."),
    examples: int = typer.Option(3, help="Example comments per issue."),
    db: str = _DB,
    fmt: str = _FORMAT,
    output: Path = _OUTPUT,
) -> None:
    """Issues ranked by trend, volume and severity; praise; follow-up."""
    from serving.reports.agenda import read_agenda, retro_agenda
    from serving.reports.attribution import read_events

    try:
        wanted = parse_period(period) if period else None
        records = _load(source, db, [])
        report = retro_agenda(
            records,
            period=wanted,
            previous_agenda=read_agenda(previous_agenda) if previous_agenda else None,
            events=read_events(events) if events else None,
            by=by,
            examples=examples,
        )
        write_report(report, output, fmt)
    except ReportInputError as error:
        _fail(error)


@app.command("render")
def render_command(
    report: Path = typer.Argument(..., help="A report saved as JSON."),
    fmt: str = _FORMAT,
    output: Path = _OUTPUT,
) -> None:
    """Draw a saved JSON report again as Markdown or HTML."""
    try:
        write_report(json.loads(report.read_text(encoding="utf-8")), output, fmt)
    except ReportInputError as error:
        _fail(error)


@app.command("demo")
def demo_command(
    comments: Path = typer.Argument(
        ..., help="Labelled comments: classify output or `pingjia corpus export`."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Demo records (.jsonl)."),
    seed: int = typer.Option(0, help="Random seed."),
    weeks: int = typer.Option(12, help="Weeks of synthetic time."),
    start: str = typer.Option("2026-09-07", help="First day (ISO)."),
    change_date: str = typer.Option("2026-11-02", help="Planted process change."),
) -> None:
    """Synthetic, clearly labelled metadata over real comments, with planted effects.

    Writes OUTPUT, OUTPUT's stem + .events.csv (the planted change and a decoy)
    and + .manifest.json (what was planted where).
    """
    from serving.records import write_records
    from serving.reports.demo import DemoConfig, demo_events, demo_records

    try:
        config = DemoConfig(
            seed=seed,
            weeks=weeks,
            start=date.fromisoformat(start),
            change_date=date.fromisoformat(change_date),
        )
    except ValueError as error:
        _fail(error)
    records = demo_records(_read_file(comments), config)
    write_records(str(output), records)

    stem = output.with_suffix("")
    events_path = stem.with_name(stem.name + ".events.csv")
    with events_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["date", "description"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(demo_events(config))
    manifest = stem.with_name(stem.name + ".manifest.json")
    manifest.write_text(json.dumps(config.to_dict(), indent=2), encoding="utf-8")
    typer.echo(
        f"{len(records)} synthetic-metadata records -> {output}; events -> "
        f"{events_path}; manifest -> {manifest}"
    )
