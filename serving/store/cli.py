"""``pingjia ingest`` and ``pingjia store ...``: fill and look after the store."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from tqdm.auto import tqdm

from serving.records import (
    RowError,
    check_text,
    format_of,
    read_records,
    write_errors,
)
from serving.store.keys import hash_key, new_key
from serving.store.schema import carries_labels
from serving.store.store import (
    FeedbackStore,
    IngestResult,
    default_database_url,
    safe_url,
)

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1000  # rows read, labelled and stored together
DB_HELP = (
    "SQLAlchemy URL of the store, e.g. postgresql+psycopg://user:pw@host:5432/db "
    "(default: PINGJIA_DATABASE_URL, else a SQLite file in PINGJIA_HOME)."
)

store_app = typer.Typer(
    help="The feedback store: schema upgrades and API keys.", no_args_is_help=True
)


def ingest_command(
    file: str = typer.Argument(
        ..., help="JSON lines, CSV or Parquet in the input schema; '-' for stdin."
    ),
    db: str = typer.Option(None, envvar="PINGJIA_DATABASE_URL", help=DB_HELP),
    model: Path = typer.Option(None, help="Model folder (default: the default model)."),
    no_label: bool = typer.Option(
        False, "--no-label", help="Store without running the model."
    ),
    timezone: str = typer.Option(
        "UTC", help="Time zone of created_at values written without an offset."
    ),
) -> None:
    """Store comments with their labels; records already labelled keep theirs.

    Idempotent on the comment id: a second run updates rather than duplicates,
    and labels of a new model are added to each comment's history.
    """
    _check_input(file)
    labeller = None if no_label else _Labeller(model)
    store = _open(db, timezone)

    result = IngestResult()
    bar = tqdm(desc="ingesting", unit="row")
    for chunk in _chunks(read_records(file)):
        rows = labeller.label(chunk) if labeller else chunk
        result += store.ingest_rows(rows)
        bar.update(len(chunk))
    bar.close()
    store.close()

    _report_errors(result.errors, file)
    typer.echo(_counts_text(result, store.url), err=True)


def _open(db: str | None, timezone: str = "UTC") -> FeedbackStore:
    from serving.store.store import StoreError

    try:
        return FeedbackStore(db or default_database_url(), timezone=timezone)
    except StoreError as error:
        raise typer.BadParameter(str(error), param_hint="--db") from error


def _check_input(file: str) -> None:
    try:
        format_of(file)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="FILE") from error
    if file != "-" and not Path(file).exists():
        raise typer.BadParameter(f"no such file: {file!r}", param_hint="FILE")


class _Labeller:
    """Labels the records that carry none; loads the model on first need."""

    def __init__(self, folder: Path | None) -> None:
        from serving.cli import resolve_model_dir

        self.folder = resolve_model_dir(folder)  # fail before reading anything
        self.model = None

    def label(
        self, rows: list[tuple[int, dict[str, Any] | RowError]]
    ) -> list[tuple[int, dict[str, Any] | RowError]]:
        from serving.classify import label_records

        todo = [
            (index, number, record)
            for index, (number, record) in enumerate(rows)
            if isinstance(record, dict)
            and not carries_labels(record)
            and not check_text(record, number)
        ]
        if not todo:
            return rows

        labelled = label_records(self._model(), [record for _, _, record in todo])
        rows = list(rows)
        for (index, number, _), record in zip(todo, labelled, strict=True):
            rows[index] = (number, record)
        return rows

    def _model(self):
        if self.model is None:
            from model.predict import load_model

            self.model = load_model(self.folder)
        return self.model


def _chunks(
    rows: Iterator[tuple[int, dict[str, Any] | RowError]],
) -> Iterator[list[tuple[int, dict[str, Any] | RowError]]]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _report_errors(errors: list[RowError], file: str) -> None:
    if not errors:
        return
    for error in errors[:20]:
        typer.echo(f"row {error.row}: {error.reason}", err=True)
    if len(errors) > 20:
        typer.echo(f"... and {len(errors) - 20} more", err=True)
    if file == "-":
        return

    path = write_errors(file, errors)
    typer.echo(f"{len(errors)} bad rows skipped, listed in {path}", err=True)


def _counts_text(result: IngestResult, url: str) -> str:
    counts = result.counts
    return (
        f"stored in {safe_url(url)}: {counts['new']} new, {counts['updated']} "
        f"updated, {counts['unchanged']} unchanged; labels: {counts['labelled']} "
        f"labelled, {counts['relabelled']} relabelled; {counts['errors']} errors"
    )


@store_app.command("upgrade")
def upgrade_command(
    db: str = typer.Option(None, envvar="PINGJIA_DATABASE_URL", help=DB_HELP),
) -> None:
    """Create or migrate the store's schema to the newest revision."""
    from serving.store.migrate import current_revision, head_revision

    store = _open(db)
    revision = current_revision(store.engine)
    store.close()
    typer.echo(
        f"{safe_url(store.url)} is at revision {revision} (newest: {head_revision()})"
    )


@store_app.command("hash-key")
def hash_key_command(
    key: str = typer.Argument(
        None, help="The key; leave out to type it unseen (or pipe it in)."
    ),
) -> None:
    """Print the SHA-256 digest of an API key, for PINGJIA_API_KEYS."""
    if key is None and not sys.stdin.isatty():
        key = sys.stdin.readline().rstrip("\n")  # piped in: no prompt to show
    elif key is None:
        key = typer.prompt("API key", hide_input=True, err=True)
    try:
        typer.echo(hash_key(key))
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="KEY") from error


@store_app.command("new-key")
def new_key_command() -> None:
    """Make a random API key: give the key to the client, the digest to the server."""
    key = new_key()
    typer.echo(f"key:    {key}")
    typer.echo(f"digest: {hash_key(key)}")
    typer.echo(
        "give the key to the client (X-API-Key header); add the digest to the "
        "server's PINGJIA_API_KEYS (comma-separated)",
        err=True,
    )
