"""Benchmark of issue 3's targets: train the default model, time it, evaluate it.

Run by hand (it takes ~20 minutes on a 2-core machine):

    .venv/bin/python benchmarks/train_and_evaluate.py [--output DIR]

Prints the wall time and peak memory of `pingjia train`, then the side-by-side
table of `pingjia evaluate` (model vs TF-IDF baseline).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

PINGJIA = str(Path(sys.executable).with_name("pingjia"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", help="model folder (default: the default model)")
    parser.add_argument(
        "--per-source",
        default="0",
        help="star-labelled test comments per source, 0 for all",
    )
    args = parser.parse_args()
    where = ["--output", args.output] if args.output else []

    started = time.monotonic()
    subprocess.run([PINGJIA, "train", *where], check=True)
    minutes = (time.monotonic() - started) / 60
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    model = ["--model", args.output] if args.output else []
    subprocess.run(
        [PINGJIA, "evaluate", *model, "--per-source", args.per_source], check=True
    )
    print(f"\npingjia train: {minutes:.1f} min wall, peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
