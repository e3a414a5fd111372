"""``pingjia relabel``: label (or re-label) files of any size, resumably.

The input is cut into chunks of ``chunk_rows`` rows, in file order. Each chunk
is labelled and written to ``OUTPUT.relabel-state/part-NNNNNN.jsonl`` under a
temporary name and then renamed, so a part either exists whole or not at all:
that rename is the checkpoint. A job killed at any moment and started again
with the same command skips the parts that exist and carries on. When every
part is there, the output is assembled under a temporary name and renamed into
place; no partial file ever carries the final name.

Two modes: predict with a model, or move existing labels to another label-set
version through its migration (no model). Two engines: ``local`` (this
process, both cores) and ``ray`` (Ray Data, see serving.ray_engine); both write
the same parts, so their outputs are identical.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from serving.records import (
    RowError,
    check_text,
    errors_path,
)
from serving.sources import (
    Row,
    checked_encoding,
    count_rows,
    header_problem,
    input_files,
    read_rows,
)

logger = logging.getLogger(__name__)

STATE_SUFFIX = ".relabel-state"
EXAMPLES_PER_CHANGE = 3


class JobMismatch(RuntimeError):
    """The state folder belongs to a different job."""


@dataclass
class RelabelOptions:
    input: str
    output: str
    model: str = ""  # model folder; empty in migrate mode
    migrate_to: str = ""  # label-set version; set for migrate mode
    encoding: str = "auto"
    chunk_rows: int = 2000
    batch_size: int = 64
    precision: str = "fp32"  # the encoder's arithmetic (model.predict.PRECISIONS)
    engine: str = "local"
    workers: int = 2  # Ray actors

    def __post_init__(self) -> None:
        if bool(self.model) == bool(self.migrate_to):
            raise ValueError(
                "expected either a model (re-predict) or --migrate-to VERSION "
                f"(move existing labels), got model={self.model!r} and "
                f"migrate_to={self.migrate_to!r}"
            )
        if self.migrate_to:
            _check_label_set(self.migrate_to)
        if self.chunk_rows < 1:
            raise ValueError(f"expected chunk_rows >= 1, got {self.chunk_rows!r}")
        if self.engine not in ("local", "ray"):
            raise ValueError(f"expected engine 'local' or 'ray', got {self.engine!r}")
        checked_encoding(self.encoding)


def _check_label_set(version: str) -> None:
    from labels.taxonomy import available_versions

    known = available_versions()
    if version not in known:
        raise ValueError(
            f"expected --migrate-to one of the label-set versions "
            f"{', '.join(known)}, got {version!r}; `pingjia labels show --version "
            "V` shows one"
        )


@dataclass
class Chunk:
    index: int
    rows: list[Row]


@dataclass
class ChunkStats:
    rows: int = 0
    labelled: int = 0
    errors: int = 0
    categories: Counter = field(default_factory=Counter)  # "key:polarity"
    sentiment: Counter = field(default_factory=Counter)
    # "speed:added", "price:flipped", "sentiment:changed"
    changes: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, other: ChunkStats) -> None:
        self.rows += other.rows
        self.labelled += other.labelled
        self.errors += other.errors
        self.categories.update(other.categories)
        self.sentiment.update(other.sentiment)
        self.changes.update(other.changes)
        for change, ids in other.examples.items():
            kept = self.examples.setdefault(change, [])
            kept.extend(ids[: EXAMPLES_PER_CHANGE - len(kept)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "labelled": self.labelled,
            "errors": self.errors,
            "categories": dict(sorted(self.categories.items())),
            "sentiment": dict(sorted(self.sentiment.items())),
            "changes": dict(sorted(self.changes.items())),
            "examples": self.examples,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChunkStats:
        return cls(
            rows=data["rows"],
            labelled=data["labelled"],
            errors=data["errors"],
            categories=Counter(data["categories"]),
            sentiment=Counter(data["sentiment"]),
            changes=Counter(data["changes"]),
            examples=data["examples"],
        )


# ---- reading ---------------------------------------------------------------


def iter_chunks(options: RelabelOptions) -> Iterator[Chunk]:
    """The input's rows in chunks, numbered in file order (same on every run)."""
    rows: list[Row] = []
    index = 0
    for path in input_files(options.input):
        for row in read_rows(path, options.encoding):
            rows.append(row)
            if len(rows) == options.chunk_rows:
                yield Chunk(index, rows)
                index, rows = index + 1, []
    if rows:
        yield Chunk(index, rows)


# ---- labelling one chunk ---------------------------------------------------

Labeller = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def previous_labels(record: dict[str, Any]) -> dict[str, str] | None:
    """``{key: polarity}`` of labels a record already carries, else None."""
    categories = record.get("categories")
    if isinstance(categories, str):
        try:
            categories = json.loads(categories)
        except json.JSONDecodeError:
            return None
    if not isinstance(categories, list):
        return None
    return {
        c["label"]: c.get("sentiment", "")
        for c in categories
        if isinstance(c, dict) and "label" in c
    }


def _in_version(
    labels: dict[str, str], source: str, target: str
) -> dict[str, str] | None:
    """Previous labels in the vocabulary of the new ones, so that a rename is no
    change; None when no migration leads there (nothing comparable)."""
    if source == target:
        return labels
    path = _migration(source, target)
    if path is None:
        return None
    try:
        return dict(path.apply(labels).categories)
    except (KeyError, ValueError):  # labels the source version does not have
        return None


@functools.cache
def _migration(source: str, target: str):
    """The migration path, read once per job rather than once per record."""
    from labels.errors import LabelSetError
    from labels.migrate import migration_path

    try:
        return migration_path(source, target)
    except (LabelSetError, FileNotFoundError, KeyError, ValueError):
        return None


def _record_changes(
    before: dict[str, Any], after: dict[str, Any], stats: ChunkStats, ident: str
) -> None:
    labels = previous_labels(before)
    if labels is None:
        return
    target = str(after.get("label_set_version") or "1")
    source = str(before.get("label_set_version") or target)
    then = _in_version(labels, source, target)
    if then is None:
        return

    now = {c["label"]: c["sentiment"] for c in after["categories"]}
    changes = [f"{k}:added" for k in now.keys() - then.keys()]
    changes += [f"{k}:removed" for k in then.keys() - now.keys()]
    changes += [f"{k}:flipped" for k in now.keys() & then.keys() if now[k] != then[k]]
    old = before.get("sentiment")
    old = old.get("label") if isinstance(old, dict) else old
    if isinstance(old, str) and old and old != after["sentiment"]["label"]:
        changes.append("sentiment:changed")
    for change in changes:
        stats.changes[change] += 1
        examples = stats.examples.setdefault(change, [])
        if len(examples) < EXAMPLES_PER_CHANGE:
            examples.append(ident)


def label_chunk(
    chunk: Chunk, labeller: Labeller, needs_text: bool
) -> tuple[list[dict], list[dict], ChunkStats]:
    """Labelled records, error records and counts of one chunk."""
    stats = ChunkStats(rows=len(chunk.rows))
    errors: list[dict] = []
    good: list[tuple[Row, dict]] = []
    for row in chunk.rows:
        error = row.error or (
            check_text(row.record, row.number) if needs_text else None
        )
        if error:
            errors.append({"file": row.file, **_error_dict(error)})
            continue
        good.append((row, row.record))

    labelled = labeller([record for _, record in good]) if good else []
    for (row, before), after in zip(good, labelled, strict=True):
        ident = str(before.get("id") or f"{Path(row.file).name}:{row.number}")
        _record_changes(before, after, stats, ident)
        stats.sentiment[after["sentiment"]["label"]] += 1
        for category in after["categories"]:
            stats.categories[f"{category['label']}:{category['sentiment']}"] += 1

    stats.labelled, stats.errors = len(labelled), len(errors)
    return labelled, errors, stats


def _error_dict(error: RowError) -> dict[str, Any]:
    return {"row": error.row, "reason": error.reason, "record": error.record}


# ---- the state folder ------------------------------------------------------


def _differences(found: Any, wanted: dict[str, Any]) -> str:
    if not isinstance(found, dict):
        return f"its job.json holds {found!r}"

    def short(value: Any) -> str:
        text = repr(value)
        return text if len(text) <= 120 else text[:117] + "..."

    keys = [k for k in {**found, **wanted} if found.get(k) != wanted.get(k)]
    return "; ".join(
        f"{k}: {short(found.get(k))} there, {short(wanted.get(k))} now" for k in keys
    )


class JobState:
    """Parts, error parts and stats of a job, committed by atomic renames."""

    def __init__(self, options: RelabelOptions, fingerprint: dict[str, Any]) -> None:
        self.folder = Path(options.output + STATE_SUFFIX)
        self.fingerprint = fingerprint

    def open(self) -> None:
        manifest = self.folder / "job.json"
        if manifest.exists():
            found = json.loads(manifest.read_text("utf-8"))
            if found != self.fingerprint:
                raise JobMismatch(
                    f"expected the state in {str(self.folder)!r} to belong to this "
                    f"job, got one of another ({_differences(found, self.fingerprint)}"
                    "); rerun with the options it had, or drop its work: delete "
                    "that folder or pass --restart"
                )
            logger.info("resuming: %d parts already done", len(self.done()))
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(manifest, json.dumps(self.fingerprint, indent=2))

    def part(self, index: int, kind: str = "part") -> Path:
        return self.folder / f"{kind}-{index:06d}.jsonl"

    def done(self) -> set[int]:
        return {int(p.stem.split("-")[1]) for p in self.folder.glob("part-*.jsonl")}

    def commit(
        self, index: int, records: list[dict], errors: list[dict], stats: ChunkStats
    ) -> None:
        # The part is renamed last: its presence means the chunk is complete.
        _write_atomic(self.part(index, "errors"), _jsonl(errors))
        _write_atomic(
            self.folder / f"stats-{index:06d}.json",
            json.dumps(stats.to_dict(), ensure_ascii=False),
        )
        _write_atomic(self.part(index), _jsonl(records))

    def stats(self, index: int) -> ChunkStats:
        path = self.folder / f"stats-{index:06d}.json"
        return ChunkStats.from_dict(json.loads(path.read_text("utf-8")))


def _jsonl(records: list[dict]) -> str:
    return "".join(
        json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records
    )


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def fingerprint(options: RelabelOptions, model_version: str) -> dict[str, Any]:
    files = [
        {"path": str(p.resolve()), "bytes": p.stat().st_size}
        for p in input_files(options.input)
    ]
    return {
        "input": files,
        "model_version": model_version,
        # bf16 and int8 move scores a little: a job resumes at one precision
        "precision": options.precision if options.model else None,
        "migrate_to": options.migrate_to,
        "chunk_rows": options.chunk_rows,
        "encoding": options.encoding,
        "digest": hashlib.sha256(json.dumps(files).encode()).hexdigest()[:16],
    }


def total_rows(options: RelabelOptions) -> int:
    return sum(count_rows(p) for p in input_files(options.input))


# ---- labellers -------------------------------------------------------------


def model_labeller(
    model_dir: str, batch_size: int = 64, precision: str = "fp32"
) -> tuple[Labeller, str]:
    """Re-predict: records plus the model's labels. Returns (labeller, version)."""
    from model.predict import load_model
    from serving.classify import label_records

    model = load_model(model_dir, precision=precision)

    def labeller(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return label_records(model, records)

    return labeller, model.version


@functools.lru_cache(maxsize=32)
def _migration(source: str, target: str | None):
    """The migration of labels from ``source`` to ``target``, planned once per
    pair: planning parses the label-set files (~13 ms), too slow for each row."""
    from serving.label_versions import plan_label_sets

    return plan_label_sets(source, target, where="the input records")


def migration_labeller(target: str) -> tuple[Labeller, str]:
    """Move labels a record carries (``pingjia classify`` output) to ``target``."""
    from serving.label_versions import map_record

    def labeller(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for record in records:
            source = str(record.get("label_set_version") or "1")
            path = _migration(source, target)
            categories = record.get("categories")
            if isinstance(categories, str):
                record = {**record, "categories": json.loads(categories)}
            moved = map_record(record, path) if path else dict(record)
            moved["label_set_version"] = target
            out.append(moved)
        return out

    return labeller, f"migration-to-v{target}"


def check_labelled(
    record: dict[str, Any], row: int, target: str | None = None
) -> RowError | None:
    """Why a record's labels cannot be moved to ``target``, or None."""
    from serving.label_versions import LabelSetMismatch

    labels = previous_labels(record)
    sentiment = record.get("sentiment")
    if labels is None or not isinstance(sentiment, dict | str):
        return RowError(
            row,
            "expected existing labels ('categories' and "
            "'sentiment' as `pingjia classify` writes them)",
            record,
        )
    source = str(record.get("label_set_version") or "1")
    try:
        _migration(source, target)
    except LabelSetMismatch as error:
        return RowError(
            row,
            f"expected labels of a label set that migrates to v{target}, got "
            f"label_set_version {source!r} ({error.__cause__}); relabel this row "
            "with a model (--model) instead",
            record,
        )
    return None


# ---- running a job ---------------------------------------------------------


def run_local(
    options: RelabelOptions,
    state: JobState,
    labeller: Labeller,
    needs_text: bool,
    progress: tqdm,
) -> None:
    done = state.done()
    for chunk in iter_chunks(options):
        if chunk.index in done:
            progress.update(len(chunk.rows))
            continue
        if not needs_text:
            chunk = _mark_unlabelled(chunk, options.migrate_to)
        records, errors, stats = label_chunk(chunk, labeller, needs_text)
        state.commit(chunk.index, records, errors, stats)
        progress.update(len(chunk.rows))


def _mark_unlabelled(chunk: Chunk, target: str) -> Chunk:
    rows = []
    for row in chunk.rows:
        if row.record is not None:
            error = check_labelled(row.record, row.number, target)
            row = Row(row.file, row.number, error=error) if error else row
        rows.append(row)
    return Chunk(chunk.index, rows)


def relabel(
    options: RelabelOptions, restart: bool = False, progress: bool = True
) -> ChunkStats:
    """Run (or resume) a job; returns the totals. Output appears only at the end."""
    if options.model:
        # refused before the model loads: every row would fail alike
        problem = text_column_problem(options)
        if problem:
            raise ValueError(problem)

        from model.predict import resolve_precision

        # resolved here, so Ray actors on other machines run what was recorded
        options = replace(options, precision=resolve_precision(options.precision))
        labeller, version = model_labeller(
            options.model, options.batch_size, options.precision
        )
    else:
        labeller, version = migration_labeller(options.migrate_to)

    state = JobState(options, fingerprint(options, version))
    if restart:
        shutil.rmtree(state.folder, ignore_errors=True)
    state.open()

    bar = tqdm(
        total=total_rows(options),
        desc="relabel",
        unit="row",
        disable=not progress,
        smoothing=0.1,
    )
    if options.engine == "ray":
        from serving.ray_engine import run_ray

        run_ray(options, state, bar)
    else:
        run_local(options, state, labeller, bool(options.model), bar)
    bar.close()
    return assemble(options, state)


def text_column_problem(options: RelabelOptions) -> str | None:
    """Why the model cannot label a CSV or Parquet input at all, or None.

    Every row of such a file shares its header: without a ``text`` column each
    would fail alike, so the job is refused before it starts. JSON lines rows
    carry their own fields and are checked one by one.
    """
    for path in input_files(options.input):
        problem = header_problem(path, options.encoding)
        if problem:
            return problem
    return None


def assemble(options: RelabelOptions, state: JobState) -> ChunkStats:
    """Join the parts into the output, the errors file and the summary."""
    parts = sorted(state.done())
    totals = ChunkStats()
    for index in parts:
        totals.add(state.stats(index))

    output = Path(options.output)
    write_output(output, [state.part(i) for i in parts])
    _concat(
        errors_path(output),
        [state.part(i, "errors") for i in parts],
    )
    summary = output.with_name(output.name + ".summary.json")
    _write_atomic(summary, json.dumps(totals.to_dict(), ensure_ascii=False, indent=2))
    shutil.rmtree(state.folder)
    logger.info(
        "relabel done: %d rows, %d labelled, %d errors",
        totals.rows,
        totals.labelled,
        totals.errors,
    )
    return totals


def _concat(target: Path, parts: list[Path]) -> None:
    temporary = target.with_name(target.name + ".tmp")
    with temporary.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                shutil.copyfileobj(handle, out)
    os.replace(temporary, target)


def write_output(output: Path, parts: list[Path]) -> None:
    """JSON lines, CSV or Parquet by extension; no extension: a folder of shards."""
    suffix = output.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        _concat(output, parts)
    elif suffix == ".csv":
        _write_csv(output, parts)
    elif suffix in (".parquet", ".pq"):
        _write_parquet(output, parts)
    elif suffix == "":
        _write_shards(output, parts)
    else:
        raise ValueError(
            f"expected an output ending in .jsonl, .csv or .parquet, or a folder "
            f"name without extension, got {str(output)!r}"
        )


def _records(part: Path) -> Iterator[dict[str, Any]]:
    with part.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """Nested values as JSON text: CSV cells and a stable Parquet schema."""
    return {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
        for k, v in record.items()
    }


def _columns(parts: list[Path]) -> list[str]:
    columns: dict[str, None] = {}
    for part in parts:
        for record in _records(part):
            columns.update(dict.fromkeys(record))
    return list(columns)


def _write_csv(output: Path, parts: list[Path]) -> None:
    import csv

    temporary = output.with_name(output.name + ".tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=_columns(parts))
        writer.writeheader()
        for part in parts:
            writer.writerows(_flat(r) for r in _records(part))
    os.replace(temporary, output)


def _write_parquet(output: Path, parts: list[Path]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = _columns(parts)
    # Every column as text: shards of one job can disagree on a field's type.
    schema = pa.schema([(c, pa.string()) for c in columns])
    temporary = output.with_name(output.name + ".tmp")
    with pq.ParquetWriter(temporary, schema) as writer:
        for part in parts:
            rows = [
                {
                    c: None
                    if r.get(c) is None
                    else (v if isinstance(v := _flat(r).get(c), str) else json.dumps(v))
                    for c in columns
                }
                for r in _records(part)
            ]
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    os.replace(temporary, output)


def _write_shards(output: Path, parts: list[Path]) -> None:
    staging = output.with_name(output.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for number, part in enumerate(parts):
        shutil.copyfile(part, staging / f"part-{number:06d}.jsonl")
    if output.exists():
        raise FileExistsError(
            f"expected no folder at {str(output)!r}, found one; move it away first"
        )
    os.replace(staging, output)
