"""``pingjia classify``: label every record of a file with the model."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from model.predict import Model, predict
from serving.records import RowError, check_text, read_records

logger = logging.getLogger(__name__)


@dataclass
class ClassifyResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def label_records(
    model: Model, records: list[dict[str, Any]], all_scores: bool = False
) -> list[dict[str, Any]]:
    """Each record, unchanged, plus the model's labels and versions."""
    predictions = predict(model, [r["text"] for r in records], all_scores)
    versions = {
        "model_version": model.version,
        "label_set_version": model.config.label_set_version,
    }
    return [{**r, **p, **versions} for r, p in zip(records, predictions, strict=True)]


def classify_file(
    model: Model,
    path: str,
    batch_size: int = 256,
    all_scores: bool = False,
    progress: bool = True,
    encoding: str = "auto",
) -> ClassifyResult:
    result = ClassifyResult()
    pending: list[dict[str, Any]] = []
    bar = tqdm(desc="classifying", unit="row", disable=not progress)
    for number, item in read_records(path, encoding):
        if isinstance(item, RowError):
            result.errors.append(item)
            continue
        error = check_text(item, number)
        if error:
            result.errors.append(error)
            continue
        pending.append(item)
        if len(pending) >= batch_size:
            result.records += label_records(model, pending, all_scores)
            bar.update(len(pending))
            pending = []
    if pending:
        result.records += label_records(model, pending, all_scores)
        bar.update(len(pending))
    bar.close()
    logger.info(
        "classified %d rows, skipped %d bad rows",
        len(result.records),
        len(result.errors),
    )
    return result
