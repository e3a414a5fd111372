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


class TfidfModel:
    def __init__(self, config: ClassifierConfig, parts: dict, calibration: Calibration):
        self.config = config
        self.parts = parts
        self.calibration = calibration

    @property
    def version(self) -> str:
        return str(self.config.extra.get("model_version", "tfidf"))

    def _class_logits(self, clf, features, classes: list[str]) -> np.ndarray:
        out = np.full((features.shape[0], len(classes)), _MISSING)
        if clf is None:
            return out
        log_proba = clf.predict_log_proba(features)
        for column, label in enumerate(clf.classes_):
            out[:, classes.index(label)] = log_proba[:, column]
        return out

    def logits(self, texts: list[str]) -> dict[str, np.ndarray]:
        features = self.parts["vectorizer"].transform(texts)
        presence = np.stack(
            [
                clf.decision_function(features)
                if clf is not None
                else np.full(len(texts), -10.0)
                for clf in self.parts["presence"]
            ],
            axis=1,
        )
        polarity = np.stack(
            [
                self._class_logits(c, features, self.config.polarities)
                for c in self.parts["polarity"]
            ],
            axis=1,
        )
        sentiment = self._class_logits(
            self.parts["sentiment"], features, self.config.sentiments
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
        config = ClassifierConfig.load(folder)
        parts = joblib.load(folder / PIPELINE_FILE)
        return cls(config, parts, Calibration.load(folder, len(config.categories)))
