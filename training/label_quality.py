"""Hand labels that are probably wrong, found with cleanlab.

For the overall sentiment and for each category's presence, every hand-labelled
comment gets an out-of-fold probability of each label from the jieba + TF-IDF +
logistic-regression baseline (k-fold cross-validation: the model that scores a
comment never saw its label). ``cleanlab.filter.find_label_issues`` then flags
the labels that disagree with confident predictions, ranked by self-confidence
(the out-of-fold probability of the label given: low means suspect).

Cheap on two cores: about 30 s for 5,400 comments and 5 folds, most of it jieba.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from cleanlab.filter import find_label_issues
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from labels.annotations import Annotation
from labels.taxonomy import LabelSet
from model.tfidf import jieba_words

logger = logging.getLogger(__name__)

SENTIMENT = "sentiment"
ABSENT = "absent"
PRESENT = "present"


@dataclass(frozen=True)
class Suspect:
    """One label of one comment that the out-of-fold model doubts."""

    id: str
    field: str  # "sentiment" or a category key
    given: str  # a sentiment; for a category "present" or "absent"
    suggested: str  # the label the model finds likeliest
    self_confidence: float  # out-of-fold probability of the given label

    def describe(self) -> str:
        return (
            f"{self.field}: given {self.given}, model says {self.suggested} "
            f"(p(given)={self.self_confidence:.2f})"
        )


def text_features(texts: list[str]):
    """jieba words and word pairs, TF-IDF; fitted on texts only, no labels."""
    vectorizer = TfidfVectorizer(
        tokenizer=jieba_words,
        token_pattern=None,
        ngram_range=(1, 2),
        min_df=2,
        sublinear_tf=True,
    )
    return vectorizer.fit_transform(texts)


def out_of_fold(features, targets: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """(n, classes) probabilities, each row from a model that did not see it."""
    classifier = LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(
        classifier, features, targets, cv=splitter, method="predict_proba"
    )


def _issues(
    features, given: list[str], names: list[str], folds: int, seed: int
) -> list[tuple[int, str, float]]:
    """(row, suggested, self-confidence) of each flagged row, most suspect first."""
    counts = {name: given.count(name) for name in names}
    classes = [name for name in names if counts[name] >= folds]
    rows = [i for i, g in enumerate(given) if g in classes]
    if len(classes) < 2:
        return []

    targets = np.array([classes.index(given[i]) for i in rows])
    probabilities = out_of_fold(features[rows], targets, folds, seed)
    flagged = find_label_issues(
        targets, probabilities, return_indices_ranked_by="self_confidence"
    )
    return [
        (
            rows[i],
            classes[int(probabilities[i].argmax())],
            float(probabilities[i, targets[i]]),
        )
        for i in flagged
    ]


def _check(annotations: list[Annotation], texts: list[str], folds: int) -> None:
    if len(annotations) != len(texts):
        raise ValueError(
            f"expected a text per annotation, got {len(texts)} texts for "
            f"{len(annotations)} annotations"
        )
    if folds < 2 or len(annotations) < 10 * folds:
        raise ValueError(
            f"expected at least 2 folds and 10 annotations per fold, got {folds} "
            f"folds for {len(annotations)} annotations; label more comments or "
            "use fewer folds"
        )


def find_suspects(
    annotations: list[Annotation],
    texts: list[str],
    label_set: LabelSet,
    folds: int = 5,
    seed: int = 13,
) -> list[Suspect]:
    """Every doubted label, most suspect (lowest self-confidence) first.

    A category left undecided by a migration is not judged; a label seen fewer
    than ``folds`` times is too rare to judge.
    """
    _check(annotations, texts, folds)
    features = text_features(texts)

    suspects = []
    given = [a.sentiment for a in annotations]
    for row, suggested, confidence in _issues(
        features, given, list(label_set.sentiments), folds, seed
    ):
        suspects.append(
            Suspect(annotations[row].id, SENTIMENT, given[row], suggested, confidence)
        )
    for key in label_set.keys:
        decided = [i for i, a in enumerate(annotations) if key not in a.undecided]
        given = [
            PRESENT if key in annotations[i].categories else ABSENT for i in decided
        ]
        for row, suggested, confidence in _issues(
            features[decided], given, [ABSENT, PRESENT], folds, seed
        ):
            annotation = annotations[decided[row]]
            suspects.append(
                Suspect(annotation.id, key, given[row], suggested, confidence)
            )

    suspects.sort(key=lambda s: s.self_confidence)
    logger.info(
        "%d doubted labels on %d of %d comments",
        len(suspects),
        len({s.id for s in suspects}),
        len(annotations),
    )
    return suspects


def by_comment(suspects: list[Suspect]) -> dict[str, list[Suspect]]:
    """Suspects grouped by comment id, the most suspect comment first."""
    grouped: dict[str, list[Suspect]] = defaultdict(list)
    for suspect in suspects:  # already sorted: a comment's first is its worst
        grouped[suspect.id].append(suspect)
    return dict(grouped)
