"""A tiny encoder and a tiny labelled data set, made in the tests.

The encoder has the real architecture (BERT + XLM-R style Unigram tokenizer)
at a size that trains in seconds; the comments are written for the tests, not
copied from shared/data.
"""

from __future__ import annotations

import json
from pathlib import Path

from labels.ids import comment_id

COMMENTS = [
    # (text, sentiment, categories, star label 1/0)
    ("送餐很快，味道很好", "positive", {"speed": "positive", "product": "positive"}, 1),
    ("送得太慢了，等了两个小时", "negative", {"speed": "negative"}, 0),
    ("汤洒了一半，包装太差", "negative", {"delivery": "negative"}, 0),
    ("骑手态度很好，很有礼貌", "positive", {"attitude": "positive"}, 1),
    ("太贵了，量还少", "negative", {"price": "negative", "product": "negative"}, 0),
    (
        "客服半天不回，问题也没解决",
        "negative",
        {"speed": "negative", "resolution": "negative"},
        0,
    ),
    ("很好吃，下次还点", "positive", {"product": "positive"}, 1),
    ("味道一般，送餐挺快", "positive", {"product": "negative", "speed": "positive"}, 1),
    ("没给筷子，少送一份米饭", "negative", {"delivery": "negative"}, 0),
    ("性价比高，很实惠", "positive", {"price": "positive"}, 1),
    ("客服一问三不知", "negative", {"professionalism": "negative"}, 0),
    ("退款很顺利，谢谢", "positive", {"resolution": "positive"}, 1),
    ("请问怎么开发票", "neutral", {}, 1),
    ("好评", "positive", {}, 1),
    ("难吃，太咸了", "negative", {"product": "negative"}, 0),
    ("商家态度恶劣，骂人", "negative", {"attitude": "negative"}, 0),
]


def tiny_comments(copies: int = 4) -> list[tuple[str, str, dict, int]]:
    """The comments, each varied by a suffix so every copy has its own id."""
    suffixes = ["", "！", "。", "～", "!!", "…", "啊", "呀"]
    return [
        (text + suffixes[i % len(suffixes)] * (1 + i // len(suffixes)), s, c, star)
        for i in range(copies)
        for text, s, c, star in COMMENTS
    ]


def write_tiny_data(folder: Path, copies: int = 4) -> tuple[Path, Path]:
    """A waimai-style CSV under folder/data and hand labels for every row."""
    data = folder / "data" / "waimai_10k"
    data.mkdir(parents=True)
    rows = tiny_comments(copies)
    lines = ["label,review"] + [f"{star},{text}" for text, _, _, star in rows]
    (data / "waimai_10k.csv").write_text("\n".join(lines) + "\n", "utf-8")

    annotations = folder / "annotations.jsonl"
    with annotations.open("w", encoding="utf-8") as handle:
        for text, sentiment, categories, _ in rows:
            record = {
                "id": comment_id("waimai", text),
                "sentiment": sentiment,
                "categories": categories,
                "annotator": "test",
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return folder / "data", annotations


def build_tiny_encoder(folder: Path) -> Path:
    """A 2-layer, 32-wide BERT with a character-level Unigram vocabulary."""
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaTokenizer

    torch.manual_seed(0)  # the same tiny encoder in every run

    characters = sorted(
        {ch for text, *_ in tiny_comments(8) for ch in text}
        | set("query:abcdefghijklmnopqrstuvwxyz0123456789,.!?~")
    )
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(ch, -5.0) for ch in characters] + [("<mask>", 0.0)]
    tokenizer = XLMRobertaTokenizer(vocab=vocab, model_max_length=128)

    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=1,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
