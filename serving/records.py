"""Reading input records and writing labelled ones: JSON lines, CSV, Parquet.

The format follows the file extension; ``-`` means JSON lines on stdin/stdout.
A bad row never stops a job: it becomes a :class:`RowError` with its row
number and the reason, and the rest goes on.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labels.ids import normalize_text

# C0 and C1 control characters: a text of these alone says nothing to classify
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

FORMATS = {
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
LABEL_FIELDS = (
    "sentiment",
    "categories",
    "review",
    "truncated",
    "model_version",
    "label_set_version",
)


@dataclass
class RowError:
    row: int  # 1-based line (JSON lines) or data row (CSV, Parquet)
    reason: str
    record: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "reason": self.reason, "record": self.record}


def format_of(path: str) -> str:
    if path == "-":
        return "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"expected a file ending in {sorted(FORMATS)} (or '-' for JSON lines "
            f"on stdin/stdout), got {path!r}"
        )
    return FORMATS[suffix]


def text_problem(text: Any, field: str = "text") -> str | None:
    """Why ``text`` cannot be classified, or None.

    Blank means blank once invisible marks (zero-width spaces, BOMs) and
    control characters (NUL, U+0001, ...) are gone; a lone surrogate
    (``\\ud800`` in JSON) is not text at all and would fail the tokenizer.
    """
    if text is None or (isinstance(text, float) and text != text):  # null, NaN
        return f"missing {field!r} (null); give the row its comment text"
    if not isinstance(text, str):
        return f"expected {field!r} as a string, got {type(text).__name__}"
    broken = unencodable(text, field)
    if broken:
        return broken
    if not _CONTROL.sub("", normalize_text(text)).strip():
        return f"empty {field!r} (blank, or invisible marks only); nothing to classify"
    return None


# Levels of lists and objects an echoed field may hold. Deeper values failed
# the response's serialisation (a 500 past 255 levels) after the model ran.
MAX_DEPTH = 32


def too_deep(value: Any, field: str, limit: int = MAX_DEPTH) -> str | None:
    """Why ``value`` nests too deeply to be echoed back, or None."""
    level = [value]
    for _ in range(limit + 1):
        containers = [item for item in level if isinstance(item, dict | list)]
        if not containers:
            return None
        level = [
            inner
            for item in containers
            for inner in (item.values() if isinstance(item, dict) else item)
        ]
    return (
        f"{field!r} nests lists or objects more than {limit} levels deep; send it "
        f"with at most {limit} levels"
    )


def unencodable(value: Any, field: str) -> str | None:
    """Where a value (or a string inside it) holds a lone surrogate, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return (
                f"{field!r} holds a lone surrogate ({value[error.start]!r} at "
                f"character {error.start}), which is not text; fix the encoding "
                "of the source (a UTF-16 pair split in two)"
            )
    elif isinstance(value, dict):
        for key, inner in value.items():
            found = unencodable(key, field) or unencodable(inner, f"{field}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found = unencodable(inner, f"{field}[{i}]")
            if found:
                return found
    return None


def check_text(
    record: dict[str, Any], row: int, field: str = "text"
) -> RowError | None:
    """None when the record has a usable text and fields, else why not."""
    if field not in record or record[field] is None:
        return RowError(
            row, f"missing field {field!r}; each record needs a text", record
        )
    problem = text_problem(record[field], field) or next(
        (found for k, v in record.items() if (found := unencodable(v, k))), None
    )
    return RowError(row, problem, _printable(record)) if problem else None


def _printable(value: Any) -> Any:
    """``value`` with each lone surrogate spelt as its escape (``\\ud800``):
    the errors file is UTF-8, which cannot hold the surrogate itself."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


def read_records(
    path: str, encoding: str = "auto"
) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """(row number, record or error) for every row of ``path``; '-' is stdin.

    Files are read as ``relabel`` reads them, row by row: a bad row costs that
    row, and GBK or GB18030 exports are detected.
    """
    if path == "-":
        yield from _read_stdin("utf-8" if encoding == "auto" else encoding)
        return
    from serving.sources import read_rows

    for row in read_rows(Path(path), encoding):
        yield row.number, row.record if row.error is None else row.error


def _read_stdin(encoding: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    # a stream cannot be sniffed and read again: UTF-8 unless --encoding says
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        first = number == 1 and encoding == "utf-8"
        try:
            line = raw.decode("utf-8-sig" if first else encoding)
        except UnicodeDecodeError as error:
            yield number, RowError(number, undecodable(error, encoding))
            continue
        if line.strip():
            record = parse_json_line(number, line)
            if isinstance(record, RowError):  # CSV piped in, say
                record.reason += " (stdin is read as JSON lines)"
            yield number, record


def undecodable(error: UnicodeDecodeError, encoding: str) -> str:
    return (
        f"bytes not valid {encoding} ({error.reason} at byte {error.start}); "
        "save the file as UTF-8, or name its encoding with --encoding (gbk, "
        "gb18030)"
    )


def parse_json_line(number: int, line: str) -> dict[str, Any] | RowError:
    """The record of one JSON-lines line, or why it is not one."""
    if number == 1 and line.lstrip().startswith("["):
        return RowError(
            number,
            "expected JSON lines (one object per line), got a JSON array; convert "
            "it with `jq -c '.[]' in.json > in.jsonl`",
        )
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        cut = " (is the line cut short?)" if error.pos >= len(line.rstrip()) else ""
        return RowError(
            number,
            f"broken JSON ({error.msg.removesuffix(' at')}, column "
            f"{error.colno}){cut}; fix or drop the line",
        )
    except ValueError as error:  # e.g. an integer past Python's 4,300 digits
        return RowError(number, f"unreadable JSON ({error}); fix or drop the line")
    if not isinstance(record, dict):
        return RowError(
            number,
            f"expected a JSON object per line, got {type(record).__name__}; "
            'write each row as {"text": "..."}',
        )
    return record


def no_text_column(path: str, columns: list[str]) -> str:
    found = ", ".join(map(repr, columns)) or "none (an empty file?)"
    return (
        f"expected a 'text' column in {path!r}, found {found}; rename the column "
        "that holds the comments to text, or add a header line such as id,text "
        "to a file that has none"
    )


def errors_path(output: str | Path) -> Path:
    """Where the bad rows of a job writing ``output`` go: OUTPUT.errors.jsonl,
    so that out.csv and out.jsonl keep errors files of their own."""
    return Path(output).with_name(Path(output).name + ".errors.jsonl")


def write_errors(output: str | Path, errors: list[RowError]) -> Path:
    """The bad rows, one JSON line each, beside ``output``; returns the path."""
    path = errors_path(output)
    path.write_text(
        "".join(
            # _printable: a lone surrogate may sit in any field of the record,
            # whichever check turned the row down
            json.dumps(_printable(e.to_dict()), ensure_ascii=False, default=str) + "\n"
            for e in errors
        ),
        "utf-8",
    )
    return path


def write_records(path: str, records: list[dict[str, Any]]) -> None:
    kind = format_of(path)
    if kind == "jsonl":
        lines = "".join(
            json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records
        )
        if path == "-":
            sys.stdout.write(lines)
        else:
            Path(path).write_text(lines, encoding="utf-8")
        return

    import pandas as pd

    if kind == "csv":
        flat = [
            {
                k: json.dumps(v, ensure_ascii=False)
                if isinstance(v, dict | list)
                else v
                for k, v in r.items()
            }
            for r in records
        ]
        pd.DataFrame(flat).to_csv(path, index=False)
    else:
        pd.DataFrame(records).to_parquet(path, index=False)
