"""Prediction: calibrated scores and the decisions read off them.

Every model kind (the fine-tuned transformer, the TF-IDF baseline) yields the
same :class:`Scores`; :func:`decide` turns them into output records with the
calibration's thresholds, so both kinds answer in one shape.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from model.classifier import WindowTokenizer, load_classifier_module
from model.config import Calibration, ClassifierConfig

logger = logging.getLogger(__name__)


@dataclass
class Scores:
    """Calibrated probabilities for n comments."""

    presence: np.ndarray  # (n, K)
    polarity: np.ndarray  # (n, K, P)
    sentiment: np.ndarray  # (n, S)
    truncated: np.ndarray  # (n,) bool


class Model(Protocol):
    config: ClassifierConfig
    calibration: Calibration

    @property
    def version(self) -> str: ...

    def scores(self, texts: list[str]) -> Scores: ...


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    shifted = logits / temperature
    shifted = shifted - shifted.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def calibrated(
    presence: np.ndarray,
    polarity: np.ndarray,
    sentiment: np.ndarray,
    calibration: Calibration,
    truncated: np.ndarray,
) -> Scores:
    """Logits -> probabilities with the calibration's temperatures."""
    temperature = np.asarray(calibration.presence_temperature, dtype=np.float64)
    return Scores(
        presence=sigmoid(presence / temperature),
        polarity=softmax(polarity, calibration.polarity_temperature),
        sentiment=softmax(sentiment, calibration.sentiment_temperature),
        truncated=truncated,
    )


def decide(
    scores: Scores,
    config: ClassifierConfig,
    calibration: Calibration,
    all_scores: bool = False,
) -> list[dict[str, Any]]:
    """Output records: sentiment, present categories, review flag."""
    thresholds = np.asarray(calibration.thresholds)
    records = []
    for i in range(len(scores.sentiment)):
        best = int(scores.sentiment[i].argmax())
        present = scores.presence[i] >= thresholds
        categories = []
        for k, key in enumerate(config.categories):
            if not (present[k] or all_scores):
                continue
            polarity = int(scores.polarity[i, k].argmax())
            categories.append(
                {
                    "label": key,
                    "score": round(float(scores.presence[i, k]), 4),
                    "sentiment": config.polarities[polarity],
                    "sentiment_score": round(float(scores.polarity[i, k, polarity]), 4),
                    **({"present": bool(present[k])} if all_scores else {}),
                }
            )
        near = np.abs(scores.presence[i] - thresholds) < calibration.review_margin
        sentiment_score = float(scores.sentiment[i, best])
        records.append(
            {
                "sentiment": {
                    "label": config.sentiments[best],
                    "score": round(sentiment_score, 4),
                },
                "categories": categories,
                "review": bool(
                    near.any() or sentiment_score < calibration.review_sentiment_below
                ),
                "truncated": bool(scores.truncated[i]),
            }
        )
    return records


TOKEN_BUDGET = 1536  # padded tokens per forward pass (windows x width)


def sum_windows(group: list[int], token_ids: list[list[int]], room: int) -> int:
    return sum(max(1, -(-len(token_ids[i]) // room)) for i in group)


class TransformerModel:
    """A saved fine-tuned classifier, ready to score texts on the CPU."""

    def __init__(self, folder: Path, quantize: bool = False) -> None:
        self.folder = Path(folder)
        self.module, tokenizer = load_classifier_module(self.folder)
        self.config = self.module.config
        self.calibration = Calibration.load(self.folder, len(self.config.categories))
        self.windows = WindowTokenizer(tokenizer, self.config)
        if quantize:
            # int8 dynamic quantisation of the Linear layers: 1.5-2x faster on
            # this CPU; its accuracy cost is measured by the benchmark.
            self.module = torch.ao.quantization.quantize_dynamic(
                self.module, {torch.nn.Linear}, dtype=torch.qint8
            )

    @property
    def version(self) -> str:
        return str(self.config.extra.get("model_version", self.folder.name))

    def logits(self, texts: list[str], batch_size: int = 64) -> dict[str, np.ndarray]:
        """Raw head outputs; comments of similar length are batched together."""
        token_ids = self.windows.token_ids(texts)
        order = np.argsort([len(ids) for ids in token_ids], kind="stable")
        outputs: dict[str, list[np.ndarray]] = {
            "presence": [],
            "polarity": [],
            "sentiment": [],
            "truncated": [],
        }
        with torch.inference_mode():
            for chunk in self._groups(order, token_ids, batch_size):
                batch = self.windows.windows([token_ids[i] for i in chunk])
                heads = self.module(batch)
                for key in ("presence", "polarity", "sentiment"):
                    outputs[key].append(heads[key].float().numpy())
                outputs["truncated"].append(np.asarray(batch.truncated, dtype=bool))

        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return {k: np.concatenate(v)[inverse] for k, v in outputs.items()}

    def _groups(
        self, order: np.ndarray, token_ids: list[list[int]], batch_size: int
    ) -> list[list[int]]:
        """Length-sorted comments cut into forward passes of at most
        ``TOKEN_BUDGET`` padded tokens: a batch is padded to its longest
        member, and attention costs grow with the square of that width."""
        room = self.config.window_tokens - len(self.windows.prefix_ids) - 2
        groups: list[list[int]] = [[]]
        for i in order:
            windows = max(1, -(-len(token_ids[i]) // room))
            width = min(len(token_ids[i]), room) + len(self.windows.prefix_ids) + 2
            group = groups[-1]
            cost = (sum_windows(group, token_ids, room) + windows) * width
            if group and (cost > TOKEN_BUDGET or len(group) >= batch_size):
                groups.append([])
            groups[-1].append(int(i))
        return [g for g in groups if g]

    def scores(self, texts: list[str], batch_size: int = 64) -> Scores:
        if not texts:
            k, p, s = (
                len(self.config.categories),
                len(self.config.polarities),
                len(self.config.sentiments),
            )
            return Scores(
                np.zeros((0, k)),
                np.zeros((0, k, p)),
                np.zeros((0, s)),
                np.zeros(0, dtype=bool),
            )
        raw = self.logits(texts, batch_size)
        return calibrated(
            raw["presence"],
            raw["polarity"],
            raw["sentiment"],
            self.calibration,
            raw["truncated"],
        )


def load_model(folder: Path | str, quantize: bool = False) -> Model:
    """Load any saved pingjia model (transformer or TF-IDF baseline)."""
    config = ClassifierConfig.load(Path(folder))
    if config.kind == "tfidf":
        from model.tfidf import TfidfModel

        return TfidfModel.load(Path(folder))
    if config.kind != "transformer":
        raise ValueError(
            f"expected model kind 'transformer' or 'tfidf' in {folder}, "
            f"got {config.kind!r}"
        )
    return TransformerModel(Path(folder), quantize=quantize)


def set_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads for torch (default: all cores)."""
    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)


def predict(model: Model, texts: list[str], all_scores: bool = False) -> list[dict]:
    return decide(model.scores(texts), model.config, model.calibration, all_scores)
