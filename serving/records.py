"""Reading input records and writing labelled ones: JSON lines, CSV, Parquet.

The format follows the file extension; ``-`` means JSON lines on stdin/stdout.
A bad row never stops a job: it becomes a :class:`RowError` with its row
number and the reason, and the rest goes on.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def check_text(
    record: dict[str, Any], row: int, field: str = "text"
) -> RowError | None:
    """None when the record has a usable text, else why not."""
    if field not in record or record[field] is None:
        return RowError(
            row, f"missing field {field!r}; each record needs a text", record
        )
    if not isinstance(record[field], str):
        return RowError(
            row,
            f"expected {field!r} as a string, got {type(record[field]).__name__}",
            record,
        )
    if not record[field].strip():
        return RowError(row, f"empty {field!r}; nothing to classify", record)
    return None


def _jsonl_lines(path: str) -> Iterator[str]:
    if path == "-":
        yield from sys.stdin
        return
    with open(path, encoding="utf-8", errors="strict") as handle:
        yield from handle


def read_records(path: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """(row number, record or error) for every row of ``path``."""
    kind = format_of(path)
    if kind == "jsonl":
        yield from _read_jsonl(path)
    elif kind == "csv":
        yield from _read_table(path, csv=True)
    else:
        yield from _read_table(path, csv=False)


def _read_jsonl(path: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    lines = _jsonl_lines(path)
    number = 0
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            number += 1
            yield (
                number,
                RowError(
                    number,
                    f"not UTF-8 ({error.reason}); the rest of "
                    "the file could not be read",
                ),
            )
            return
        number += 1
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield (
                number,
                RowError(number, f"broken JSON: {error.msg} at column {error.colno}"),
            )
            continue
        if not isinstance(record, dict):
            yield (
                number,
                RowError(
                    number,
                    f"expected a JSON object per line, got {type(record).__name__}",
                ),
            )
            continue
        yield number, record


def _read_table(path: str, csv: bool) -> Iterator[tuple[int, dict[str, Any]]]:
    import pandas as pd

    frame = (
        pd.read_csv(path, dtype=str, keep_default_na=False)
        if csv
        else pd.read_parquet(path)
    )
    yield from enumerate(frame.to_dict(orient="records"), start=1)


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
