"""The Ray engine of ``pingjia relabel``: the same chunks, labelled on Ray Data.

The driver reads the input exactly as the local engine does (same chunks, same
row errors) and hands chunks to Ray Data in windows of a few per actor. Each
window runs ``map_batches`` with a pool of actors; an actor loads the model
once, labels whole chunks and commits each part into the shared state folder
itself. Because parts are made by the same ``label_chunk`` and assembled by the
same code, the output is byte-for-byte the local engine's.

On a cluster the state folder (next to OUTPUT) and the model folder must be on
storage every node sees. Limits: the driver reads the input, so input reading
does not scale out; actors live for one window (``WINDOW_CHUNKS_PER_ACTOR``
chunks each), so the model is loaded once per actor and window.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any

from serving.records import RowError
from serving.relabel import (
    Chunk,
    JobState,
    RelabelOptions,
    iter_chunks,
    label_chunk,
    migration_labeller,
    model_labeller,
)
from serving.sources import Row

logger = logging.getLogger(__name__)

WINDOW_CHUNKS_PER_ACTOR = 4


def encode_chunk(chunk: Chunk) -> str:
    """A chunk as one JSON text: Arrow blocks cannot hold records of any shape."""
    rows = [
        {
            "file": r.file,
            "number": r.number,
            "record": r.record,
            "error": None if r.error is None else r.error.to_dict(),
        }
        for r in chunk.rows
    ]
    return json.dumps(
        {"index": chunk.index, "rows": rows}, ensure_ascii=False, default=str
    )


def decode_chunk(text: str) -> Chunk:
    data = json.loads(text)
    rows = [
        Row(
            r["file"],
            r["number"],
            record=r["record"],
            error=None if r["error"] is None else RowError(**r["error"]),
        )
        for r in data["rows"]
    ]
    return Chunk(data["index"], rows)


class ChunkLabeller:
    """A Ray actor: loads the model once, then labels and commits whole chunks."""

    def __init__(self, options: dict[str, Any], fingerprint: dict[str, Any]) -> None:
        import torch

        torch.set_num_threads(1)  # one core per actor; Ray runs one actor per CPU
        self.options = RelabelOptions(**options)
        self.state = JobState(self.options, fingerprint)
        if self.options.model:
            self.labeller, _ = model_labeller(self.options.model)
        else:
            self.labeller, _ = migration_labeller(self.options.migrate_to)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from serving.relabel import _mark_unlabelled

        rows = []
        for text in batch["chunk"]:
            chunk = decode_chunk(str(text))
            if not self.options.model:
                chunk = _mark_unlabelled(chunk)
            records, errors, stats = label_chunk(
                chunk, self.labeller, bool(self.options.model)
            )
            self.state.commit(chunk.index, records, errors, stats)
            rows.append(len(chunk.rows))
        return {"rows": rows}


def _run_window(
    options: RelabelOptions, state: JobState, window: list[Chunk], bar
) -> None:
    import ray.data

    dataset = ray.data.from_items([{"chunk": encode_chunk(c)} for c in window])
    labelled = dataset.map_batches(
        ChunkLabeller,
        fn_constructor_kwargs={
            "options": asdict(options),
            "fingerprint": state.fingerprint,
        },
        batch_size=1,
        concurrency=min(options.workers, len(window)),
        num_cpus=1,
    )
    for row in labelled.iter_rows():
        bar.update(int(row["rows"]))


def run_ray(options: RelabelOptions, state: JobState, bar) -> None:
    """Label every chunk not yet committed, on Ray Data."""
    import ray

    if not ray.is_initialized():
        # Local Ray by default; RAY_ADDRESS points it at a cluster.
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    logger.info("Ray engine: %d actors", options.workers)

    done = state.done()
    window: list[Chunk] = []
    size = WINDOW_CHUNKS_PER_ACTOR * options.workers
    for chunk in iter_chunks(options):
        if chunk.index in done:
            bar.update(len(chunk.rows))
            continue
        window.append(chunk)
        if len(window) == size:
            _run_window(options, state, window, bar)
            window = []
    if window:
        _run_window(options, state, window, bar)
