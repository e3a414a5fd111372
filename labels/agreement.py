"""Inter-annotator agreement: Cohen's kappa per category and overall."""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.metrics import cohen_kappa_score, f1_score

from labels.annotations import Annotation
from labels.taxonomy import LabelSet


@dataclass(frozen=True)
class CategoryAgreement:
    key: str
    kappa: float
    present_first: int
    present_second: int
    both: int
    polarity_agreement: float | None


@dataclass(frozen=True)
class AgreementReport:
    items: int
    categories: list[CategoryAgreement]
    sentiment_kappa: float
    sentiment_agreement: float
    presence_micro_f1: float
    exact_match: float


def _kappa(a: list, b: list) -> float:
    # Kappa is undefined when both annotators used one value throughout.
    if len(set(a) | set(b)) < 2:
        return 1.0
    return float(cohen_kappa_score(a, b))


def agreement(
    first: list[Annotation], second: list[Annotation], label_set: LabelSet
) -> AgreementReport:
    """Compare two annotation lists on the ids they share."""
    by_id = {a.id: a for a in second}
    pairs = [(a, by_id[a.id]) for a in first if a.id in by_id]
    if not pairs:
        raise ValueError("expected annotations sharing ids, got no common id")

    per_category = []
    for key in label_set.keys:
        # a category left undecided by a migration was not judged: leave it out
        judged = [(a, b) for a, b in pairs if key not in a.undecided + b.undecided]
        one = [key in a.categories for a, _ in judged]
        two = [key in b.categories for _, b in judged]
        shared = [
            (a, b) for a, b in judged if key in a.categories and key in b.categories
        ]
        same = sum(a.categories[key] == b.categories[key] for a, b in shared)
        per_category.append(
            CategoryAgreement(
                key=key,
                kappa=_kappa(one, two),
                present_first=sum(one),
                present_second=sum(two),
                both=len(shared),
                polarity_agreement=same / len(shared) if shared else None,
            )
        )

    one_matrix = [[k in a.categories for k in label_set.keys] for a, _ in pairs]
    two_matrix = [[k in b.categories for k in label_set.keys] for _, b in pairs]
    sentiments = ([a.sentiment for a, _ in pairs], [b.sentiment for _, b in pairs])
    exact = sum(
        a.categories == b.categories and a.sentiment == b.sentiment for a, b in pairs
    )
    return AgreementReport(
        items=len(pairs),
        categories=per_category,
        sentiment_kappa=_kappa(*sentiments),
        sentiment_agreement=sum(x == y for x, y in zip(*sentiments, strict=True))
        / len(pairs),
        presence_micro_f1=float(
            f1_score(one_matrix, two_matrix, average="micro", zero_division=0)
        ),
        exact_match=exact / len(pairs),
    )
