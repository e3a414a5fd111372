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


def blend(encoder: Scores, lexical: Scores, calibration: Calibration) -> Scores:
    """The encoder's probabilities mixed with the lexical model's, in the
    shares calibration chose on dev, then re-tempered (see Calibration)."""
    a, b = calibration.lexical_presence, calibration.lexical_sentiment
    presence = (1 - a) * encoder.presence + a * lexical.presence
    if calibration.blend_presence_temperature:
        temperature = np.asarray(calibration.blend_presence_temperature)
        presence = sigmoid(logit(presence) / temperature)
    polarity = (1 - b) * encoder.polarity + b * lexical.polarity
    sentiment = (1 - b) * encoder.sentiment + b * lexical.sentiment
    return Scores(
        presence=presence,
        polarity=softmax(log(polarity), calibration.blend_polarity_temperature),
        sentiment=softmax(log(sentiment), calibration.blend_sentiment_temperature),
        truncated=encoder.truncated,
    )


def logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def log(probability: np.ndarray) -> np.ndarray:
    return np.log(np.clip(probability, 1e-12, 1.0))


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


def quantized(module: torch.nn.Module) -> torch.nn.Module:
    """int8 dynamic quantisation of the Linear layers: about 2x faster on this
    CPU. One scale per output channel, not per matrix: per matrix, the hidden
    states drifted to cosine 0.94 of fp32 and hand-label sentiment accuracy
    fell 3 points; per channel they stay at 0.97 for the same speed."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    return quantize_dynamic(
        module, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8
    )


# Padded tokens per forward pass (windows x width). Measured on 2 cores with
# 256 real comments per call: 768 beat 1536 by 2-10% in fp32, bf16 and int8
# (the activations of a smaller pass stay in cache).
TOKEN_BUDGET = 768

PRECISIONS = ("fp32", "bf16", "int8")


def bf16_supported() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX);
    elsewhere torch emulates it, slower than float32."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def check_precision(precision: str) -> None:
    if precision != "auto" and precision not in PRECISIONS:
        raise ValueError(
            f"expected a precision among auto, {', '.join(PRECISIONS)}; "
            f"got {precision!r}"
        )


def resolve_precision(precision: str) -> str:
    """``auto`` is bf16 where the CPU has it, else fp32; the rest is checked."""
    check_precision(precision)
    if precision == "auto":
        return "bf16" if bf16_supported() else "fp32"
    if precision == "bf16" and not bf16_supported():
        raise ValueError(
            "expected a CPU with AVX-512 BF16 or AMX for precision bf16, this one "
            "has neither (bf16 would be emulated, slower than fp32); use fp32 or "
            "int8, or auto"
        )
    return precision


def sum_windows(group: list[int], token_ids: list[list[int]], room: int) -> int:
    return sum(max(1, -(-len(token_ids[i]) // room)) for i in group)


LEXICAL_DIR = "lexical"


class TransformerModel:
    """A saved fine-tuned classifier, ready to score texts on the CPU.

    Where its calibration says so, the encoder's probabilities are blended with
    a TF-IDF model saved in ``lexical/`` of the same folder: the two make
    different mistakes (on dev, the blend found categories the encoder alone
    missed), and the lexical model costs little next to the encoder.
    """

    def __init__(self, folder: Path, precision: str = "fp32") -> None:
        self.folder = Path(folder)
        self.module, tokenizer = load_classifier_module(self.folder)
        self.config = self.module.config
        self.calibration = Calibration.load(self.folder, len(self.config.categories))
        self.windows = WindowTokenizer(tokenizer, self.config)
        self.lexical = self._load_lexical() if self.calibration.blends_lexical else None
        self.precision = resolve_precision(precision)
        # The encoder only, in either case: the heads are small, they read
        # their weights directly (category attention), which a quantised
        # Linear does not expose, and their softmax wants float32.
        if self.precision == "int8":
            self.module.encoder = quantized(self.module.encoder)
        elif self.precision == "bf16":
            self.module.encoder.to(torch.bfloat16)
            _plain_attention(self.module.encoder)

    def _load_lexical(self) -> Model:
        from model.tfidf import TfidfModel

        folder = self.folder / LEXICAL_DIR
        if not folder.is_dir():
            raise FileNotFoundError(
                f"expected the lexical model this model blends with at "
                f"{str(folder)!r}, found none; copy the whole model folder, or "
                "train it again with `pingjia train`"
            )
        return TfidfModel.load(folder)

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
        scores = calibrated(
            raw["presence"],
            raw["polarity"],
            raw["sentiment"],
            self.calibration,
            raw["truncated"],
        )
        if self.lexical is None:
            return scores
        return blend(scores, self.lexical.scores(texts), self.calibration)


def _plain_attention(encoder: torch.nn.Module) -> None:
    """Attention as two matmuls and a softmax, not PyTorch's fused CPU kernel.

    Measured here in bfloat16 on windows of about 35 tokens with heads of 32:
    the fused kernel (SDPA) took 18% of a forward pass for about 1% of its
    FLOPs; the plain form was faster in each of 8 interleaved rounds (157 and
    161 against 147 and 149 comments/s on average in two runs), with scores
    as close to SDPA's as bfloat16 rounding allows.
    """
    encoder.set_attn_implementation("eager")


def load_model(folder: Path | str, precision: str = "fp32") -> Model:
    """Load any saved pingjia model (transformer or TF-IDF baseline).

    ``precision`` is the encoder's arithmetic: fp32, bf16 (CPUs with AVX-512
    BF16 or AMX), int8 (dynamic quantisation), or auto (bf16 where the CPU has
    it, else fp32). The TF-IDF baseline ignores it.
    """
    check_precision(precision)  # the TF-IDF model too: a typo is not ignored
    config = ClassifierConfig.load(Path(folder))
    if config.kind == "tfidf":
        from model.tfidf import TfidfModel

        return TfidfModel.load(Path(folder))
    if config.kind != "transformer":
        raise ValueError(
            f"expected model kind 'transformer' or 'tfidf' in {folder}, "
            f"got {config.kind!r}"
        )
    return TransformerModel(Path(folder), precision=precision)


def set_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads for torch (default: all cores)."""
    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)


def predict(model: Model, texts: list[str], all_scores: bool = False) -> list[dict]:
    return decide(model.scores(texts), model.config, model.calibration, all_scores)
