import torch
from transformers import AutoTokenizer

from labels.taxonomy import load_label_set
from model.classifier import FeedbackClassifier, WindowTokenizer, load_encoder
from model.config import ClassifierConfig


def _classifier(encoder_dir, pooling: str) -> FeedbackClassifier:
    label_set = load_label_set("1")
    config = ClassifierConfig(
        base_encoder="tiny",
        label_set_version="1",
        categories=list(label_set.keys),
        polarities=list(label_set.polarities),
        sentiments=list(label_set.sentiments),
        window_tokens=12,  # long comments span several windows
        pooling=pooling,
    )
    torch.manual_seed(0)
    return FeedbackClassifier(config, load_encoder(str(encoder_dir))).eval()


def test_category_attention_starts_as_the_mean_and_learns_to_differ(tiny_encoder):
    mean = _classifier(tiny_encoder, "mean")
    attention = _classifier(tiny_encoder, "category_attention")
    attention.load_state_dict(mean.state_dict(), strict=False)
    windows = WindowTokenizer(AutoTokenizer.from_pretrained(tiny_encoder), mean.config)
    batch = windows(["送餐很快，态度也好，就是汤洒了", "好"])

    with torch.inference_mode():
        before = attention(batch)
        expected = mean(batch)
        torch.nn.init.normal_(attention.category_query.weight)
        after = attention(batch)

    assert batch.input_ids.shape[0] > 2  # the first comment spans windows
    for key in ("presence", "polarity", "sentiment"):
        assert torch.allclose(before[key], expected[key], atol=1e-5), key
    assert not torch.allclose(after["presence"], expected["presence"], atol=1e-3)
    assert torch.allclose(after["sentiment"], expected["sentiment"], atol=1e-5)
