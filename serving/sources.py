"""Streaming input for batch jobs: files or folders of shards, read in chunks.

JSON lines and CSV are read line by line in their encoding (UTF-8, or GBK /
GB18030 as Chinese tools export), so memory stays flat and one undecodable or
broken line becomes a row error instead of stopping the job. Parquet is read
in record batches. Rows are numbered from 1 in each file.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.records import (
    FORMATS,
    RowError,
    no_text_column,
    parse_json_line,
    undecodable,
)

logger = logging.getLogger(__name__)

_WARNED: set[Path] = set()  # folders whose left-out files were logged

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
        found = sorted(p for p in source.iterdir() if p.is_file())
        files = [p for p in found if p.suffix.lower() in FORMATS]
        others = [p.name for p in found if p.suffix.lower() not in FORMATS]
        if others and source.resolve() not in _WARNED:  # a job lists it often
            _WARNED.add(source.resolve())
            logger.warning(
                "%d files in %s are not shards (not %s) and are left out: %s",
                len(others),
                path,
                ", ".join(sorted(FORMATS)),
                ", ".join(others[:5]) + (", ..." if len(others) > 5 else ""),
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


def checked_encoding(encoding: str) -> str:
    if encoding not in ENCODINGS:
        raise ValueError(
            f"expected --encoding one of {', '.join(ENCODINGS)}, got {encoding!r}"
        )
    return encoding


def detect_encoding(path: Path, chosen: str = "auto") -> str:
    """``chosen`` unless it is ``auto``: then UTF-8, or GB18030 (a superset of
    GBK and GB2312) when most non-ASCII lines of the file's start are not UTF-8.

    By majority, not at the first bad byte: one GBK line pasted into a UTF-8
    file is that line's error, not a reason to misread every other line.
    """
    if checked_encoding(chosen) != "auto":
        return chosen

    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError(
            f"expected UTF-8, GBK or GB18030 in {str(path)!r}, got UTF-16 (its byte "
            "order mark); save the file as UTF-8"
        )
    lines = head.split(b"\n")
    if len(head) == _SNIFF_BYTES:
        lines = lines[:-1] or lines  # the last may be cut inside a character
    utf8 = other = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            other += 1
    return "gb18030" if other > utf8 else "utf-8"


def _decoded_lines(path: Path, encoding: str) -> Iterator[tuple[int, str | None, str]]:
    """(line number, text or None, reason) for each physical line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and encoding == "utf-8":
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                yield number, raw.decode(encoding), ""
            except UnicodeDecodeError as error:
                yield number, None, undecodable(error, encoding)


def _jsonl_rows(path: Path, encoding: str) -> Iterator[Row]:
    name = str(path)
    for number, line, reason in _decoded_lines(path, encoding):
        if line is None:
            yield Row(name, number, error=RowError(number, reason))
            continue
        if not line.strip():
            continue
        record = parse_json_line(number, line)
        if isinstance(record, RowError):
            yield Row(name, number, error=record)
            continue
        yield Row(name, number, record=record)


class _Lines:
    """Physical lines for csv.reader, kept until the record that reads them ends.

    A quote that is never closed makes csv.reader take every later line as
    part of one cell. Keeping the lines of the record being read lets that
    record be reported and the lines after its first be read again as rows.
    """

    def __init__(self, source: Iterator[str]) -> None:
        self.source = source
        self.replay: deque[str] = deque()
        self.taken: list[str] = []
        self.ran_out = False  # the file ended inside the record being read

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.replay:
            line = self.replay.popleft()
        else:
            try:
                line = next(self.source)
            except StopIteration:
                self.ran_out = True
                raise
        self.taken.append(line)
        return line

    def start_record(self) -> None:
        self.taken, self.ran_out = [], False

    def read_again_after_first(self) -> None:
        self.replay.extendleft(reversed(self.taken[1:]))
        self.start_record()


def _broken_record(lines: _Lines, error: csv.Error | None) -> str:
    close = 'close the quote (a quote inside a quoted cell is written "")'
    if lines.ran_out:
        problem = "a quote opened in this row is never closed"
        if len(lines.taken) > 1:
            problem += f", so the {len(lines.taken)} lines from here to the end of "
            problem += "the file read as one cell"
    elif "field larger than field limit" in str(error):
        problem = f"a cell runs past {csv.field_size_limit():,} characters ({error}), "
        problem += "most often a quote that is never closed"
    elif "expected after" in str(error):
        problem = f"text after the closing quote of a cell ({error}), or a quote "
        problem += "that is never closed"
    else:
        problem = f"unreadable CSV ({error})"
        close = "put a cell holding a comma, quote or line break in double quotes"
    skipped = "this row was skipped and the lines after it read as rows"
    return f"{problem}; {skipped}; {close}"


def _csv_rows(path: Path, encoding: str) -> Iterator[Row]:
    name = str(path)
    bad: list[str] = []
    number = 0

    def good_lines() -> Iterator[str]:
        for _, line, reason in _decoded_lines(path, encoding):
            if line is None:
                bad.append(reason)  # numbered as a data row when reached
                continue
            yield line

    def bad_rows() -> Iterator[Row]:
        nonlocal number
        for reason in bad:
            number += 1
            yield Row(name, number, error=RowError(number, reason))
        bad.clear()

    lines = _Lines(good_lines())
    # strict: text after a closing quote is an error, not glued to the cell,
    # so two unclosed quotes do not pair up across rows into one cell.
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None) or []
    except csv.Error as error:
        reason = f"unreadable CSV header ({error}); fix the quoting of the first line"
        yield Row(name, 0, error=RowError(0, reason))
        return
    while True:
        lines.start_record()
        error = None
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as caught:
            cells, error = [], caught
        yield from bad_rows()
        if not cells and error is None:
            continue  # a blank line, as csv.DictReader skips it
        number += 1
        if error is not None or lines.ran_out:
            reason = _broken_record(lines, error)
            yield Row(name, number, error=RowError(number, reason))
            lines.read_again_after_first()
            reader = csv.reader(lines, strict=True)  # fresh parser state
            continue
        yield _csv_row(name, number, header, cells)
    yield from bad_rows()


def _csv_row(name: str, number: int, header: list[str], cells: list[str]) -> Row:
    record: dict[str, Any] = dict(zip(header, cells, strict=False))
    for column in header[len(cells) :]:
        record[column] = None  # a short row, as csv.DictReader fills it
    if len(cells) > len(header):
        reason = (
            f"{len(cells) - len(header)} more cells than the header has columns; "
            "put a cell holding a comma in double quotes"
        )
        return Row(name, number, error=RowError(number, reason, record))
    return Row(name, number, record=record)


def _not_parquet(path: Path, error: Exception) -> ValueError:
    return ValueError(
        f"expected a Parquet file, got {str(path)!r} that is not one ({error}); "
        "re-export it, or move it out of the input"
    )


def _parquet_file(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise _not_parquet(path, error) from None


def _parquet_rows(path: Path) -> Iterator[Row]:
    import pyarrow as pa

    number = 0
    batches = _parquet_file(path).iter_batches(batch_size=4096)
    while True:
        try:  # a damaged page shows only when its batch is read
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as error:
            raise _not_parquet(path, error) from None
        if batch is None:
            return
        for record in batch.to_pylist():
            number += 1
            yield Row(str(path), number, record=record)


def header_problem(path: Path, encoding: str = "auto") -> str | None:
    """Why a CSV or Parquet file cannot be labelled at all, or None.

    Their rows share one header: without a ``text`` column every row would
    fail alike, so the file is refused before any work, naming its columns.
    Read from the header (the Parquet schema), so a file with no rows, or
    with its header missing, is refused too. JSON lines rows carry their own
    fields and are checked one by one.
    """
    kind = _format(path)
    if kind == "jsonl":
        return None
    if kind == "parquet":
        columns = _parquet_file(path).schema_arrow.names
    else:
        columns = _csv_header(path, detect_encoding(path, encoding))
    return None if "text" in columns else no_text_column(str(path), columns)


def _csv_header(path: Path, encoding: str) -> list[str]:
    lines = (line for _, line, _ in _decoded_lines(path, encoding) if line)
    try:
        return next(csv.reader(lines, strict=True), [])
    except csv.Error:
        return []


def read_rows(path: Path, encoding: str = "auto") -> Iterator[Row]:
    kind = _format(path)
    if kind == "parquet":
        return _parquet_rows(path)
    chosen = detect_encoding(path, encoding)
    return _jsonl_rows(path, chosen) if kind == "jsonl" else _csv_rows(path, chosen)


def count_rows(path: Path) -> int:
    """Rows of a file, cheaply (lines for text formats): for the progress bar."""
    if _format(path) == "parquet":
        return _parquet_file(path).metadata.num_rows
    lines = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            lines += block.count(b"\n")
    return lines - (1 if _format(path) == "csv" else 0)


def open_text(path: Path) -> io.TextIOWrapper:
    return path.open("w", encoding="utf-8", newline="")
