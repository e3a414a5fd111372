"""Benchmark of issue 3's targets: train the default model, time it, evaluate it.

Run by hand (it takes ~15 minutes on a 2-core machine):

    .venv/bin/python benchmarks/train_and_evaluate.py [--output DIR] [TRAIN OPTIONS]

Options it does not know (e.g. `--freeze-layers 4`) go to `pingjia train`.

Prints the wall time and peak memory of `pingjia train` (fine-tuning, test
figures and the TF-IDF baseline fit), the side-by-side table of `pingjia
evaluate` (model vs baseline), then issue 3's targets, each met or not.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
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
    args, train_options = parser.parse_known_args()
    where = ["--output", args.output] if args.output else []

    started = time.monotonic()
    subprocess.run([PINGJIA, "train", *where, *train_options], check=True)
    minutes = (time.monotonic() - started) / 60
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    model = ["--model", args.output] if args.output else []
    report = Path(tempfile.mkdtemp(prefix="pingjia-eval-")) / "evaluation.json"
    subprocess.run(
        [PINGJIA, "evaluate", *model, "--per-source", args.per_source]
        + ["--output", str(report)],
        check=True,
    )
    print(f"\npingjia train: {minutes:.1f} min wall, peak RSS {peak_mib:.0f} MiB")
    print_targets(json.loads(report.read_text("utf-8")), minutes)


def annotator_micro_f1() -> float:
    from labels.agreement import agreement
    from labels.annotations import load_hand_labels, load_second_pass
    from labels.taxonomy import load_label_set

    label_set = load_label_set("1")
    first, second = load_hand_labels(label_set), load_second_pass(label_set)
    return agreement(first, second, label_set).presence_micro_f1


def hand_star_agreement() -> dict:
    """How often the hand labels' overall sentiment equals the star rating, per
    source, over the hand-labelled comments of every split."""
    from labels.taxonomy import load_label_set
    from training.config import TrainConfig
    from training.data import weak_examples
    from training.evaluate import star_agreement
    from training.fit import load_training_data

    label_set = load_label_set("1")
    corpus, splits, _ = load_training_data(TrainConfig(), label_set)
    hand = [e for split in splits.values() for e in split]
    star = weak_examples(corpus, label_set, set(), splits=("train", "dev", "test"))
    return star_agreement(hand, star)


def print_targets(evaluation: dict, minutes: float) -> None:
    model, base = evaluation["model"], evaluation["baseline"]
    hand, base_hand = model["hand"], base["hand"]
    rows = [
        ("presence micro-F1 >= 0.85", hand["presence_micro_f1"] >= 0.85,
         f"{hand['presence_micro_f1']:.3f}"),
        ("polarity accuracy >= 0.90", hand["polarity_accuracy"] >= 0.90,
         f"{hand['polarity_accuracy']:.3f}"),
        ("training <= 20 min", minutes <= 20, f"{minutes:.1f} min"),
    ]  # fmt: skip
    for key in ("presence_micro_f1", "presence_macro_f1", "polarity_accuracy",
                "sentiment_accuracy", "sentiment_macro_f1"):  # fmt: skip
        rows.append(
            (f"beats baseline: {key}", hand[key] > base_hand[key],
             f"{hand[key]:.3f} vs {base_hand[key]:.3f}")
        )  # fmt: skip
    for source, row in model["source_sentiment"].items():
        other = base["source_sentiment"][source]["accuracy"]
        low, high = row["margins"]["baseline"]["interval"]
        rows.append(
            (f"{source} sentiment accuracy >= baseline + 0.02",
             row["accuracy"] >= other + 0.02,
             f"{row['accuracy']:.3f} vs {other:.3f} "
             f"(margin 95% interval {low:+.3f} to {high:+.3f})")
        )  # fmt: skip
    annotators = annotator_micro_f1()
    rows.append(
        ("presence micro-F1 close to annotators' (within 0.05)",
         hand["presence_micro_f1"] >= annotators - 0.05,
         f"{hand['presence_micro_f1']:.3f} vs {annotators:.3f}")
    )  # fmt: skip
    print("\ntargets (issue 3)")
    for name, met, figure in rows:
        print(f"  {'met    ' if met else 'NOT MET'}  {name:<52} {figure}")

    # The star targets read against this: the annotators' own labels, made by
    # the guideline, are what the model learns the overall sentiment from.
    print("\nhand-labelled overall sentiment = star rating, on the same comments:")
    for source, row in hand_star_agreement().items():
        print(f"  {source:<10} {row['agreement']:.3f} of {row['examples']}")


if __name__ == "__main__":
    main()
