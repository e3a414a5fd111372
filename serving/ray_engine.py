"""The Ray engine of ``pingjia relabel``: the same chunks, labelled on Ray Data.

The driver reads the input exactly as the local engine does (same chunks, same
row errors) and stages each chunk not yet done as a one-line file in the state
folder (``pending/``), streaming, so its memory stays flat. One Ray Data
pipeline then runs ``map_batches`` over their paths with a pool of
actors for the whole job: an actor loads the model once, labels whole chunks
and commits each part into the shared state folder itself. Because parts are
made by the same ``label_chunk`` and assembled by the same code, the output is
byte-for-byte the local engine's.

On a cluster the state folder (next to OUTPUT) and the model folder must be on
storage every node sees. Limit: the driver reads the input, so input reading
does not scale out.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from serving.records import RowError
from serving.relabel import (
    Chunk,
    JobState,
    RelabelOptions,
    _write_atomic,
    iter_chunks,
    label_chunk,
    migration_labeller,
    model_labeller,
)
from serving.sources import Row

logger = logging.getLogger(__name__)


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
            self.labeller, _ = model_labeller(
                self.options.model, precision=self.options.precision
            )
        else:
            self.labeller, _ = migration_labeller(self.options.migrate_to)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from serving.relabel import _mark_unlabelled

        rows = []
        for path in batch["path"]:
            chunk = decode_chunk(Path(str(path)).read_text("utf-8"))
            if not self.options.model:
                chunk = _mark_unlabelled(chunk, self.options.migrate_to)
            records, errors, stats = label_chunk(
                chunk, self.labeller, bool(self.options.model)
            )
            self.state.commit(chunk.index, records, errors, stats)
            rows.append(len(chunk.rows))
        return {"rows": rows}


def _stage(options: RelabelOptions, state: JobState, bar) -> list[Path]:
    """Write each chunk not yet committed to ``pending/`` as one JSON line."""
    pending = state.folder / "pending"
    shutil.rmtree(pending, ignore_errors=True)  # left by a killed run: redone
    pending.mkdir()
    done = state.done()
    paths = []
    for chunk in iter_chunks(options):
        if chunk.index in done:
            bar.update(len(chunk.rows))
            continue
        path = pending / f"chunk-{chunk.index:06d}.json"
        _write_atomic(path, encode_chunk(chunk) + "\n")
        paths.append(path)
    return paths


def run_ray(options: RelabelOptions, state: JobState, bar) -> None:
    """Label every chunk not yet committed, on Ray Data."""
    import ray

    # Local Ray by default; RAY_ADDRESS points it at a cluster. A Ray this job
    # started is shut down with it: left running, its processes and signal
    # handlers outlive the job inside the caller's process.
    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        _run_pending(options, state, bar)
    finally:
        if started:
            ray.shutdown()


def _run_pending(options: RelabelOptions, state: JobState, bar) -> None:
    import ray.data

    pending = _stage(options, state, bar)
    if not pending:
        return
    actors = min(options.workers, len(pending))
    logger.info("Ray engine: %d chunks on %d actors", len(pending), actors)
    # Paths, not chunks, go through Ray: the list stays small whatever the
    # input size, and no read task competes with the actors for the CPUs.
    paths = ray.data.from_items([{"path": str(p)} for p in pending])
    labelled = paths.map_batches(
        ChunkLabeller,
        fn_constructor_kwargs={
            "options": asdict(options),
            "fingerprint": state.fingerprint,
        },
        batch_size=1,
        concurrency=actors,
        num_cpus=1,
    )
    for row in labelled.iter_rows():
        bar.update(int(row["rows"]))
    shutil.rmtree(state.folder / "pending", ignore_errors=True)
