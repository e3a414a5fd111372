"""Streaming input for batch jobs: files or folders of shards, read in chunks.

JSON lines and CSV are read line by line in their encoding (UTF-8, or GBK /
GB18030 as Chinese tools export), so memory stays flat and one undecodable or
broken line becomes a row error instead of stopping the job. Parquet is read
in record batches. Rows are numbered from 1 in each file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.records import FORMATS, RowError

ENCODINGS = ("auto", "utf-8", "gbk", "gb18030")
_SNIFF_BYTES = 1 << 20


@dataclass
class Row:
    """One input row: its record, or why it could not be read."""

    file: str
    number: int
    record: dict[str, Any] | None = None
    error: RowError | None = None


def input_files(path: str) -> list[Path]:
    """The files of a job: the file itself, or a folder's files in name order."""
    source = Path(path)
    if source.is_file():
        _format(source)
        return [source]
    if source.is_dir():
        files = sorted(
            p for p in source.iterdir() if p.is_file() and p.suffix.lower() in FORMATS
        )
        if not files:
            raise ValueError(
                f"expected shard files ending in {sorted(FORMATS)} in folder "
                f"{path!r}, found none"
            )
        return files
    raise FileNotFoundError(f"no such file or folder: {path!r}")


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"expected a file ending in {sorted(FORMATS)}, got {str(path)!r}"
        )
    return FORMATS[suffix]


def detect_encoding(path: Path, chosen: str = "auto") -> str:
    """``chosen`` unless it is ``auto``: then UTF-8 if the start decodes, else
    GB18030 (a superset of GBK and GB2312)."""
    if chosen not in ENCODINGS:
        raise ValueError(f"expected an encoding in {ENCODINGS}, got {chosen!r}")
    if chosen != "auto":
        return chosen

    head = path.open("rb").read(_SNIFF_BYTES)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the sniff window is still UTF-8.
        if error.start < len(head) - 4:
            return "gb18030"
    return "utf-8"


def _decoded_lines(path: Path, encoding: str) -> Iterator[tuple[int, str | None, str]]:
    """(line number, text or None, reason) for each physical line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and encoding == "utf-8":
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                yield number, raw.decode(encoding), ""
            except UnicodeDecodeError as error:
                yield number, None, f"bytes not valid {encoding} ({error.reason} at "
                f"byte {error.start}); re-export as UTF-8 or pass --encoding"


def _jsonl_rows(path: Path, encoding: str) -> Iterator[Row]:
    name = str(path)
    for number, line, reason in _decoded_lines(path, encoding):
        if line is None:
            yield Row(name, number, error=RowError(number, reason))
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            reason = f"broken JSON: {error.msg} at column {error.colno}"
            yield Row(name, number, error=RowError(number, reason))
            continue
        if not isinstance(record, dict):
            reason = f"expected a JSON object per line, got {type(record).__name__}"
            yield Row(name, number, error=RowError(number, reason))
            continue
        yield Row(name, number, record=record)


def _csv_rows(path: Path, encoding: str) -> Iterator[Row]:
    name = str(path)
    bad: list[Row] = []

    def good_lines() -> Iterator[str]:
        for number, line, reason in _decoded_lines(path, encoding):
            if line is None:
                bad.append(Row(name, number, error=RowError(number, reason)))
                continue
            yield line

    reader = csv.DictReader(good_lines())
    for number, record in enumerate(reader, start=1):
        yield from bad
        bad.clear()
        if None in record:  # more cells than the header names
            extra = record.pop(None)
            reason = f"{len(extra)} more cells than the header has columns"
            yield Row(name, number, error=RowError(number, reason, record))
            continue
        yield Row(name, number, record=record)
    yield from bad


def _parquet_rows(path: Path) -> Iterator[Row]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        for record in batch.to_pylist():
            number += 1
            yield Row(str(path), number, record=record)


def read_rows(path: Path, encoding: str = "auto") -> Iterator[Row]:
    kind = _format(path)
    if kind == "parquet":
        return _parquet_rows(path)
    chosen = detect_encoding(path, encoding)
    return _jsonl_rows(path, chosen) if kind == "jsonl" else _csv_rows(path, chosen)


def count_rows(path: Path) -> int:
    """Rows of a file, cheaply (lines for text formats): for the progress bar."""
    if _format(path) == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    lines = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            lines += block.count(b"\n")
    return lines - (1 if _format(path) == "csv" else 0)


def open_text(path: Path) -> io.TextIOWrapper:
    return path.open("w", encoding="utf-8", newline="")
