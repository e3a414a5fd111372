"""The label-set version a service answers in, and a model's outputs mapped to it.

A model answers in the categories of the label set it was trained on. A service
configured for another version (``label_set_version``) refuses the model unless a
chain of migrations leads from the model's version to its own; then each output
is moved along that chain: renamed and merged categories get their new keys,
and the parts of a split category the model saw are reported as undecided.
"""

from __future__ import annotations

import logging
from typing import Any

from labels.errors import LabelSetError
from labels.migrate import MigrationPath, migration_path

logger = logging.getLogger(__name__)


class LabelSetMismatch(RuntimeError):
    """A model trained on a label-set version the service cannot answer in."""


def plan_label_sets(
    model_version: str, service_version: str | None, where: str
) -> MigrationPath | None:
    """The migration to apply to the model's outputs; None when none is needed."""
    if service_version is None or service_version == model_version:
        return None
    try:
        path = migration_path(model_version, service_version)
    except (LabelSetError, FileNotFoundError) as error:
        raise LabelSetMismatch(
            f"expected a model trained on label set v{service_version} (setting "
            f"label_set_version), got one trained on v{model_version} at {where}, "
            f"and no migration covers it: {error}. Serve a model trained on "
            f"v{service_version}, or set PINGJIA_LABEL_SET_VERSION={model_version}"
        ) from error

    logger.warning(
        "model trained on label set v%s; its outputs are migrated to v%s",
        model_version,
        service_version,
    )
    return path


def _mapped(key: str, polarity: str, sources: list[dict]) -> dict[str, Any]:
    # A merged category is as likely as its likeliest source. Its sentiment
    # score is the best of the sources that share its polarity; a merge of
    # opposite polarities (set neutral) gets the weakest source's score.
    agreeing = [s["sentiment_score"] for s in sources if s["sentiment"] == polarity]
    return {
        "label": key,
        "score": max(s["score"] for s in sources),
        "sentiment": polarity,
        "sentiment_score": max(agreeing)
        if agreeing
        else min(s["sentiment_score"] for s in sources),
    }


def map_record(record: dict[str, Any], path: MigrationPath) -> dict[str, Any]:
    """One output record of the model, in the categories of ``path.target``."""
    by_label = {c["label"]: c for c in record["categories"]}
    labels = path.apply({key: c["sentiment"] for key, c in by_label.items()})
    origins = {
        key: [by_label[k] for k in keys if k in by_label]
        for key, keys in path.origins().items()
    }

    categories = [_mapped(k, p, origins[k]) for k, p in labels.categories.items()]
    undecided = [
        {
            "label": key,
            "score": max((s["score"] for s in origins[key]), default=None),
        }
        for key in path.target.keys
        if key in labels.undecided
    ]
    return {**record, "categories": categories, "undecided": undecided}
