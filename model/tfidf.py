"""The light baseline: jieba words + TF-IDF + logistic regression.

It is the yardstick for the fine-tuned model and a fallback that loads in a
second. It answers through the same :class:`model.predict.Scores` as the
transformer, so ``classify`` and ``serve`` take either.
"""

from __future__ import annotations

import logging
from pathlib import Path

import joblib
import numpy as np

from model.config import Calibration, ClassifierConfig
from model.predict import Scores, calibrated

logger = logging.getLogger(__name__)

PIPELINE_FILE = "tfidf.joblib"
_MISSING = -1e9  # log-probability of a class the training data never showed


def jieba_words(text: str) -> list[str]:
    """Words for the vectoriser; module-level so a saved model can unpickle it."""
    import jieba

    return [w for w in jieba.lcut(text) if w.strip()]


def load_jieba() -> None:
    """Load jieba's dictionary now (1-3 s), not inside the first request, and
    without its start-up chatter on stderr."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()


class _Stacked:
    """Every logistic regression of the model as one sparse-dense product.

    Fifteen sklearn calls per request cost about 3.5 ms in input checks alone,
    a tenth of the encoder's time for one short comment; one product costs a
    fraction of a millisecond and gives the same numbers (tests compare them).
    """

    def __init__(self, classifiers: list) -> None:
        self.slices: list[slice | None] = []
        weights, biases, start = [], [], 0
        for clf in classifiers:
            if clf is None:
                self.slices.append(None)
                continue
            weights.append(clf.coef_)
            biases.append(clf.intercept_)
            self.slices.append(slice(start, start + clf.coef_.shape[0]))
            start += clf.coef_.shape[0]
        self.weight = np.vstack(weights).T if weights else None  # (features, R)
        self.bias = np.concatenate(biases) if biases else None

    def decisions(self, features) -> list[np.ndarray | None]:
        """Each classifier's decision_function values, in classifier order."""
        if self.weight is None:
            return [None] * len(self.slices)
        raw = np.asarray(features @ self.weight) + self.bias
        return [None if s is None else raw[:, s] for s in self.slices]


def _log_proba(decision: np.ndarray) -> np.ndarray:
    """LogisticRegression.predict_log_proba from its decision values."""
    if decision.shape[1] == 1:  # binary: one column for the second class
        d = decision[:, 0]
        return np.stack([-np.logaddexp(0, d), -np.logaddexp(0, -d)], axis=1)
    shifted = decision - decision.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class TfidfModel:
    def __init__(self, config: ClassifierConfig, parts: dict, calibration: Calibration):
        self.config = config
        self.parts = parts
        self.calibration = calibration
        self._classifiers = [
            *parts["presence"],
            *parts["polarity"],
            parts["sentiment"],
        ]
        self._stacked = _Stacked(self._classifiers)

    @property
    def version(self) -> str:
        return str(self.config.extra.get("model_version", "tfidf"))

    def _class_logits(self, clf, decision, rows: int, classes: list[str]):
        out = np.full((rows, len(classes)), _MISSING)
        if clf is None:
            return out
        log_proba = _log_proba(decision)
        for column, label in enumerate(clf.classes_):
            out[:, classes.index(label)] = log_proba[:, column]
        return out

    def logits(self, texts: list[str]) -> dict[str, np.ndarray]:
        features = self.parts["vectorizer"].transform(texts)
        decisions = self._stacked.decisions(features)
        categories = len(self.parts["presence"])
        rows = len(texts)
        presence = np.stack(
            [
                d[:, 0] if d is not None else np.full(rows, -10.0)
                for d in decisions[:categories]
            ],
            axis=1,
        )
        polarity = np.stack(
            [
                self._class_logits(clf, d, rows, self.config.polarities)
                for clf, d in zip(
                    self.parts["polarity"],
                    decisions[categories:-1],
                    strict=True,
                )
            ],
            axis=1,
        )
        sentiment = self._class_logits(
            self.parts["sentiment"], decisions[-1], rows, self.config.sentiments
        )
        return {"presence": presence, "polarity": polarity, "sentiment": sentiment}

    def scores(self, texts: list[str], batch_size: int = 0) -> Scores:
        k = len(self.config.categories)
        if not texts:
            return Scores(
                np.zeros((0, k)),
                np.zeros((0, k, 3)),
                np.zeros((0, 3)),
                np.zeros(0, dtype=bool),
            )
        raw = self.logits(texts)
        return calibrated(
            raw["presence"],
            raw["polarity"],
            raw["sentiment"],
            self.calibration,
            np.zeros(len(texts), dtype=bool),
        )

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.parts, folder / PIPELINE_FILE)
        self.config.save(folder)
        self.calibration.save(folder)

    @classmethod
    def load(cls, folder: Path) -> TfidfModel:
        load_jieba()
        config = ClassifierConfig.load(folder)
        parts = joblib.load(folder / PIPELINE_FILE)
        return cls(config, parts, Calibration.load(folder, len(config.categories)))
