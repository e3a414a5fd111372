"""Why the server runs every torch call in one thread (serving/app.py), run by hand:

    .venv/bin/python benchmarks/threads.py [--model DIR] [--rounds 3]

Loads the default model in the main thread, then, round after round, times the
same work in that thread and in a second thread: comments/s at batch 128 on
512 real test comments, and the median time of one short comment. Torch keeps
an OpenMP thread team per calling thread; on a 2-core machine the second
thread's team contends with the first's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.serving import real_comments  # noqa: E402
from model.encoder import default_model_dir  # noqa: E402
from model.predict import load_model, predict, set_threads  # noqa: E402

SHORT = "送餐很快，态度也好，就是汤洒了"


def measure(model, texts: list[str]) -> tuple[float, float]:
    """(comments/s at batch 128, median ms of one short comment)."""
    started = time.perf_counter()
    for i in range(0, len(texts), 128):
        predict(model, texts[i : i + 128])
    rate = len(texts) / (time.perf_counter() - started)

    times = []
    for _ in range(40):
        started = time.perf_counter()
        predict(model, [SHORT])
        times.append(time.perf_counter() - started)
    return rate, 1000 * statistics.median(times)


def in_second_thread(model, texts: list[str]) -> tuple[float, float]:
    result: list[tuple[float, float]] = []
    worker = threading.Thread(target=lambda: result.append(measure(model, texts)))
    worker.start()
    worker.join()
    return result[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    texts = real_comments(512)
    set_threads(None)
    model = load_model(args.model, precision="auto")
    predict(model, texts[:64])  # warm-up, in the loading thread

    print(f"{'round':>6} {'thread':>14} {'comments/s':>11} {'one comment ms':>15}")
    for round_ in range(1, args.rounds + 1):
        for name, run in (("loading", measure), ("second", in_second_thread)):
            rate, ms = run(model, texts)
            print(f"{round_:>6} {name:>14} {rate:>11.1f} {ms:>15.1f}")


if __name__ == "__main__":
    main()
