"""Benchmark of batch relabeling (issue 5), run by hand:

    .venv/bin/python benchmarks/relabel.py [--rows-small 10000] [--rows-large 1000000]

1. Throughput: `pingjia relabel` (local engine) against in-process batched
   prediction on the same real comments, with the default model.
2. Memory: peak RSS of `pingjia relabel` on a small and a large input built by
   repeating real comments. The large run uses the TF-IDF baseline model, so
   that a million rows take minutes on 2 cores instead of hours; what is
   measured is the job's streaming, which is the same for both models.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.encoder import default_model_dir  # noqa: E402
from model.predict import PRECISIONS, load_model, predict, set_threads  # noqa: E402
from training.corpus import load_corpus  # noqa: E402

PINGJIA = str(Path(sys.executable).with_name("pingjia"))


def build_input(path: Path, texts: list[str], rows: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            record = {"id": f"r{i}", "text": texts[i % len(texts)], "team": f"t{i % 7}"}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def run_job(
    source: Path, output: Path, model: Path, precision: str = "auto"
) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one `pingjia relabel` process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            PINGJIA,
            "relabel",
            str(source),
            "-o",
            str(output),
            "--model",
            str(model),
            "--restart",
            "--precision",
            precision,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"relabel exited with status {status}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description="pingjia relabel benchmark")
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument(
        "--baseline", type=Path, default=default_model_dir().parent / "baseline"
    )
    parser.add_argument("--precision", default="auto", choices=("auto", *PRECISIONS))
    # 20,000: a job long enough that the one-time start (imports, model load,
    # ~10 s) weighs as it would on a real relabeling job; both rates are shown
    parser.add_argument("--rows-throughput", type=int, default=20_000)
    parser.add_argument("--rows-small", type=int, default=10_000)
    parser.add_argument("--rows-large", type=int, default=1_000_000)
    args = parser.parse_args()

    corpus = load_corpus(sources=("waimai",))
    texts = corpus.filter(lambda s: s == "test", input_columns="split")["text"]
    work = Path(tempfile.mkdtemp(prefix="pingjia-bench-"))

    set_threads(None)
    loading = time.perf_counter()
    model = load_model(args.model, precision=args.precision)
    load_seconds = time.perf_counter() - loading
    sample = [texts[i % len(texts)] for i in range(args.rows_throughput)]
    started = time.perf_counter()
    for i in range(0, len(sample), 128):
        predict(model, sample[i : i + 128])
    in_process = len(sample) / (time.perf_counter() - started)
    model_precision = model.precision
    del model

    source = build_input(work / "throughput.jsonl", texts, args.rows_throughput)
    seconds, _ = run_job(
        source, work / "throughput-out.jsonl", args.model, args.precision
    )
    print(
        f"\nthroughput on {args.rows_throughput} real waimai comments "
        f"(encoder in {model_precision})"
    )
    print(f"  in-process batched predict (batch 128): {in_process:8.1f} comments/s")
    rate = args.rows_throughput / seconds
    print(
        f"  pingjia relabel, local engine:         {rate:8.1f} rows/s, "
        f"{rate / in_process:.0%} of in-process (target: within 10%), with the "
        f"process start and the model load ({load_seconds:.1f} s) counted"
    )
    running = args.rows_throughput / max(seconds - load_seconds, 1e-9)
    print(
        f"  the same, the model load left out:     {running:8.1f} rows/s, "
        f"{running / in_process:.0%} of in-process"
    )

    print("\npeak memory of pingjia relabel (TF-IDF baseline model)")
    peaks = []
    for rows in (args.rows_small, args.rows_large):
        source = build_input(work / f"in-{rows}.jsonl", texts, rows)
        seconds, peak = run_job(source, work / f"out-{rows}.jsonl", args.baseline)
        peaks.append(peak)
        print(f"  {rows:>9} rows: {seconds:7.1f} s, peak RSS {peak:7.0f} MiB")
        source.unlink()
        (work / f"out-{rows}.jsonl").unlink()
    print(
        f"  large / small peak: {peaks[1] / peaks[0]:.2f} (target: within 20%, <= 1.20)"
    )


if __name__ == "__main__":
    main()
