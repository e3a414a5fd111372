"""``pingjia classify`` (and later ``serve``): use a trained model."""

from __future__ import annotations

from pathlib import Path

import typer

from model.cli import checked_precision
from model.encoder import default_model_dir
from model.predict import load_model, set_threads
from serving.classify import classify_file
from serving.records import (
    format_of,
    write_errors,
    write_records,
)

PRECISION_HELP = (
    "The encoder's arithmetic: auto (the default: bf16 where the CPU has AVX-512 "
    "BF16 or AMX, else fp32), fp32, bf16 (the same figures as fp32, ~2x "
    "faster), int8 (1.1-1.3x bf16's rate, about 2 points less sentiment "
    "accuracy; README, Figures)."
)


def resolve_model_dir(model: Path | None) -> Path:
    folder = model or default_model_dir()
    if not (folder / "pingjia.json").exists():
        raise typer.BadParameter(
            f"expected a trained model at {str(folder)!r}, found none; run "
            "`pingjia train` (or bash scripts/start.sh) first, or pass --model",
            param_hint="--model",
        )
    return folder


def classify_command(
    input: str = typer.Argument(
        ..., help="JSON lines, CSV or Parquet with a 'text' field; '-' for stdin."
    ),
    output: str = typer.Option(
        "-",
        "--output",
        "-o",
        help="Where to write; format by extension, '-' for stdout.",
    ),
    model: Path = typer.Option(None, help="Model folder (default: the default model)."),
    all_scores: bool = typer.Option(
        False, help="Report every category's score, present or not."
    ),
    threads: int = typer.Option(0, help="CPU threads (0: all cores)."),
    precision: str = typer.Option("auto", help=PRECISION_HELP),
    encoding: str = typer.Option(
        "auto", help="auto, utf-8, gbk or gb18030 (CSV and JSON lines files)."
    ),
) -> None:
    """Label each record with sentiment and categories; bad rows are skipped."""
    if input != "-" and Path(input).is_dir():
        raise typer.BadParameter(
            f"expected a file, got the folder {input!r}; label a folder of shards "
            "with `pingjia relabel FOLDER -o OUTPUT`",
            param_hint="INPUT",
        )
    for path in (input, output):
        try:
            format_of(path)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from error
    if input != "-" and not Path(input).exists():
        raise typer.BadParameter(f"no such file: {input!r}", param_hint="INPUT")
    if output != "-" and not Path(output).parent.is_dir():
        # checked first: the model's work would otherwise be lost at the end
        raise typer.BadParameter(
            f"no folder {str(Path(output).parent)!r} for the output; create it "
            "or write elsewhere",
            param_hint="--output",
        )

    from serving.sources import checked_encoding, header_problem

    try:
        checked_encoding(encoding)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--encoding") from error
    try:
        problem = None if input == "-" else header_problem(Path(input), encoding)
    except ValueError as error:  # not a Parquet file, though named one
        raise typer.BadParameter(str(error), param_hint="INPUT") from error
    if problem:
        raise typer.BadParameter(problem, param_hint="INPUT")

    precision = checked_precision(precision)
    set_threads(threads or None)
    loaded = load_model(resolve_model_dir(model), precision=precision)
    result = classify_file(loaded, input, progress=output != "-", encoding=encoding)
    write_records(output, result.records)

    if result.errors:
        for error in result.errors[:20]:
            typer.echo(f"row {error.row}: {error.reason}", err=True)
        if output != "-":
            errors_path = write_errors(output, result.errors)
            typer.echo(
                f"{len(result.errors)} bad rows skipped, listed in {errors_path}",
                err=True,
            )
    typer.echo(
        f"{len(result.records)} rows labelled, {len(result.errors)} skipped", err=True
    )
    if result.errors and not result.records:
        raise typer.Exit(1)  # every row failed: a script should not go on


def check_label_set(settings) -> None:
    """Refuse, before the server starts, a model the service cannot answer for."""
    from model.config import ClassifierConfig
    from serving.label_versions import LabelSetMismatch, plan_label_sets

    trained_on = ClassifierConfig.load(settings.model_path).label_set_version
    try:
        plan_label_sets(
            trained_on, settings.label_set_version, str(settings.model_path)
        )
    except LabelSetMismatch as error:
        raise typer.BadParameter(
            str(error), param_hint="--label-set-version"
        ) from error


def serve_command(
    host: str = typer.Option(None, help="Address to bind (default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default 8000)."),
    model: Path = typer.Option(None, help="Model folder (default: the default model)."),
    threads: int = typer.Option(None, help="CPU threads for the model (0: all cores)."),
    precision: str = typer.Option(None, help=PRECISION_HELP),
    label_set_version: str = typer.Option(
        None, help="Answer in this label-set version (default: the model's)."
    ),
    max_comments: int = typer.Option(None, help="Comments per request (256)."),
    max_chars: int = typer.Option(None, help="Characters per comment (5000)."),
    max_body_bytes: int = typer.Option(None, help="Request body size (2000000)."),
    batch_size: int = typer.Option(None, help="Most comments per model call (256)."),
    batch_wait_ms: float = typer.Option(
        None,
        help="How long a request waits for company while requests come together "
        "(4 ms); a client alone is not held.",
    ),
    database_url: str = typer.Option(
        None, help="Feedback store URL (default: a SQLite file in PINGJIA_HOME)."
    ),
) -> None:
    """Start the HTTP API; settings also come from PINGJIA_* variables."""
    import uvicorn
    from pydantic import ValidationError

    from serving.app import create_app
    from serving.settings import ServingSettings

    overrides = {
        "host": host,
        "port": port,
        "model_path": model,
        "threads": threads,
        "precision": precision,
        "label_set_version": label_set_version,
        "max_comments": max_comments,
        "max_chars": max_chars,
        "max_body_bytes": max_body_bytes,
        "batch_size": batch_size,
        "batch_wait_ms": batch_wait_ms,
        "database_url": database_url,
    }
    try:
        settings = ServingSettings(
            **{k: v for k, v in overrides.items() if v is not None}
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
        )
        typer.echo(
            f"error: invalid settings ({problems}); fix the option or the "
            "PINGJIA_* variable of that name",
            err=True,
        )
        raise typer.Exit(2) from None
    resolve_model_dir(settings.model_path)
    check_label_set(settings)
    checked_precision(settings.precision)
    check_port_free(settings.host, settings.port)
    typer.echo(
        f"serving {settings.model_path} on http://{settings.host}:{settings.port}"
        f" (API docs: http://{settings.host}:{settings.port}/docs)",
        err=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
    )


def check_port_free(host: str, port: int) -> None:
    """Exit with the fix when the address is taken, before the model loads:
    uvicorn binds only after start-up, so a busy port would cost the load and
    print a "ready" line first."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        typer.echo(
            f"error: cannot listen on {host}:{port} ({error.strerror or error}); "
            "another program (a pingjia serve already running?) may hold it: stop "
            "it, or choose another port with --port or PINGJIA_PORT",
            err=True,
        )
        raise typer.Exit(2) from None


def relabel_command(
    input: str = typer.Argument(
        ..., help="A file (JSON lines, CSV, Parquet) or a folder of shards."
    ),
    output: str = typer.Option(
        ...,
        "--output",
        "-o",
        help="File by extension (.jsonl/.csv/.parquet) or a folder for shards.",
    ),
    model: Path = typer.Option(None, help="Model folder (default: the default model)."),
    migrate_to: str = typer.Option(
        None,
        help="Move existing labels to this label-set version instead of predicting.",
    ),
    encoding: str = typer.Option(
        "auto", help="auto, utf-8, gbk or gb18030 (CSV and JSON lines)."
    ),
    chunk_rows: int = typer.Option(2000, help="Rows per checkpoint."),
    engine: str = typer.Option("local", help="local (this machine) or ray (Ray Data)."),
    workers: int = typer.Option(2, help="Ray actors, each with its own model."),
    precision: str = typer.Option("auto", help=PRECISION_HELP),
    restart: bool = typer.Option(
        False, help="Drop a previous run's checkpoints first."
    ),
) -> None:
    """Label every row of a large input, resumably; the same command resumes."""
    from serving.relabel import JobMismatch, RelabelOptions, relabel

    if migrate_to is not None and not migrate_to.strip():
        raise typer.BadParameter(
            "expected a label-set version, e.g. --migrate-to 2, got ''; leave the "
            "option out to label with the model",
            param_hint="--migrate-to",
        )
    model_dir = "" if migrate_to else str(resolve_model_dir(model))
    precision = checked_precision(precision)
    try:
        options = RelabelOptions(
            input=input,
            output=output,
            model=model_dir,
            migrate_to=migrate_to or "",
            encoding=encoding,
            chunk_rows=chunk_rows,
            engine=engine,
            workers=workers,
            precision=precision,
        )
        totals = relabel(options, restart=restart)
    except (ValueError, FileNotFoundError, FileExistsError, JobMismatch) as error:
        raise typer.BadParameter(str(error)) from error

    typer.echo(_summary_text(totals, output), err=True)


def _summary_text(totals, output: str) -> str:
    lines = [
        f"{totals.rows} rows: {totals.labelled} labelled, {totals.errors} errors"
        + (f" (listed in {output}.errors.jsonl)" if totals.errors else "")
    ]
    sentiment = ", ".join(f"{k} {v}" for k, v in sorted(totals.sentiment.items()))
    lines.append(f"sentiment: {sentiment}")
    by_category: dict[str, list[str]] = {}
    for key, count in sorted(totals.categories.items()):
        label, polarity = key.split(":")
        by_category.setdefault(label, []).append(f"{polarity} {count}")
    lines += [f"  {label}: {', '.join(v)}" for label, v in by_category.items()]
    if totals.changes:
        lines.append("changes against the labels the input carried:")
        for change, count in sorted(totals.changes.items()):
            examples = ", ".join(totals.examples.get(change, []))
            lines.append(f"  {change}: {count} (e.g. {examples})")
    lines.append(f"summary: {output}.summary.json")
    return "\n".join(lines)
