"""Weak supervision from the sources' own labels, kept apart from hand labels.

Star-rating sentiment (waimai, hotel, shopping) becomes the overall sentiment;
Zhijiang aspect categories map onto ours where the meaning overlaps. A weak
label only says what the source said: no category is inferred from text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Zhijiang category -> v1 key. 服务 is mostly about how the shop treated the
# buyer; 物流 is nearly always about how fast the parcel came. 整体 (overall
# impression) is sentiment, not a category.
ZHIJIANG_TO_V1 = {
    "服务": "attitude",
    "物流": "speed",
    "包装": "delivery",
    "价格": "price",
    "使用体验": "product",
    "功效": "product",
    "气味": "product",
    "成分": "product",
    "尺寸": "product",
    "新鲜度": "product",
    "真伪": "product",
}


@dataclass(frozen=True)
class WeakLabel:
    id: str
    sentiment: str | None
    categories: dict[str, str] = field(default_factory=dict)
    # Categories the source checked for: an absent one is a known negative.
    observed: tuple[str, ...] = ()


def _merge_polarity(old: str | None, new: str) -> str:
    if old is None or old == new:
        return new
    return "neutral"


def weak_label(row: dict[str, Any]) -> WeakLabel | None:
    """The weak label of one corpus row, or None when its source says nothing."""
    if row["source"] in ("waimai", "hotel", "shopping"):
        if row["source_sentiment"] is None:
            return None
        return WeakLabel(id=row["id"], sentiment=row["source_sentiment"])

    if row["source"] == "zhijiang" and row["aspects"]:
        categories: dict[str, str] = {}
        for aspect in row["aspects"]:
            key = ZHIJIANG_TO_V1.get(aspect["category"])
            if key:
                categories[key] = _merge_polarity(
                    categories.get(key), aspect["polarity"]
                )
        polarities = set(categories.values())
        sentiment = polarities.pop() if len(polarities) == 1 else None
        return WeakLabel(
            id=row["id"],
            sentiment=sentiment,
            categories=categories,
            observed=("attitude", "speed", "delivery", "price"),
        )
    return None
