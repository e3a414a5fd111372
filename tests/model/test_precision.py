"""The encoder at fp32, bf16 and int8: the same answers, within a tolerance."""

import numpy as np
import pytest
import torch

from model.predict import bf16_supported, load_model


def test_the_int8_model_answers_like_the_fp32_one(tiny_model):
    texts = ["送得太慢了，等了两个小时", "骑手态度很好"]
    fp32 = load_model(tiny_model[0]).scores(texts)
    int8 = load_model(tiny_model[0], precision="int8").scores(texts)

    assert np.allclose(int8.sentiment, fp32.sentiment, atol=0.1)
    assert np.allclose(int8.presence, fp32.presence, atol=0.1)


@pytest.mark.skipif(not bf16_supported(), reason="this CPU has no native bf16")
def test_the_bf16_model_answers_like_the_fp32_one_and_keeps_float32_heads(
    tiny_model,
):
    texts = ["送得太慢了，等了两个小时", "骑手态度很好", "房间干净，前台热情" * 30]
    fp32 = load_model(tiny_model[0]).scores(texts)
    model = load_model(tiny_model[0], precision="bf16")
    bf16 = model.scores(texts)

    assert model.precision == "bf16"
    assert next(model.module.encoder.parameters()).dtype == torch.bfloat16
    assert model.module.presence.weight.dtype == torch.float32
    # plain matmul-softmax attention: faster than SDPA's CPU kernel in bf16
    assert model.module.encoder.config._attn_implementation == "eager"
    assert not np.array_equal(bf16.presence, fp32.presence)  # it did run in bf16
    assert np.allclose(bf16.sentiment, fp32.sentiment, atol=0.03)
    assert np.allclose(bf16.presence, fp32.presence, atol=0.03)


def test_precision_auto_follows_the_cpu_and_a_wrong_one_is_refused(
    tiny_model, monkeypatch
):
    import model.predict as predict

    monkeypatch.setattr(predict, "bf16_supported", lambda: False)
    assert predict.resolve_precision("auto") == "fp32"
    with pytest.raises(ValueError, match="AVX-512 BF16 or AMX.*use fp32 or int8"):
        load_model(tiny_model[0], precision="bf16")
    with pytest.raises(ValueError, match="among auto, fp32, bf16, int8; got 'fp16'"):
        load_model(tiny_model[0], precision="fp16")

    monkeypatch.setattr(predict, "bf16_supported", lambda: True)
    assert predict.resolve_precision("auto") == "bf16"


@pytest.mark.skipif(not bf16_supported(), reason="this CPU has no native bf16")
def test_training_autocast_runs_the_encoder_in_bf16_and_the_heads_in_float32(
    tiny_model,
):
    module = load_model(tiny_model[0]).module
    texts = ["送得太慢了，等了两个小时", "骑手态度很好"]
    windows = load_model(tiny_model[0]).windows
    batch = windows.windows(windows.token_ids(texts))
    with torch.no_grad():
        fp32 = module(batch)
        module.encoder_autocast = True
        autocast = module(batch)

    assert autocast["presence"].dtype == torch.float32
    assert not torch.equal(autocast["presence"], fp32["presence"])
    assert torch.allclose(autocast["presence"], fp32["presence"], atol=0.1)
