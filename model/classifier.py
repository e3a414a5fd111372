"""The feedback classifier: a pretrained encoder with three heads.

- presence: one logit per category (multi-label, sigmoid)
- polarity: three logits per category (softmax), read only where present
- sentiment: three logits for the whole comment (softmax)

The sentiment head reads the mean of the encoder's token vectors over every
window of the comment (model.windows). The category heads read the same mean,
or, with ``pooling="category_attention"``, one vector per category: the tokens
weighed by a learned query of that category.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from model.config import ClassifierConfig
from model.windows import (
    WindowBatch,
    attend_windows,
    pad_windows,
    pool_windows,
    split_windows,
)

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
ENCODER_CONFIG_DIR = "encoder"


class FeedbackClassifier(nn.Module):
    def __init__(self, config: ClassifierConfig, encoder: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        # Training sets it where the CPU multiplies bf16 natively: the
        # encoder's matmuls then run in bf16 (~1.5x faster steps on 2 cores)
        # while the weights, the heads and the loss stay float32.
        self.encoder_autocast = False
        hidden = encoder.config.hidden_size
        categories = len(config.categories)

        self.dropout = nn.Dropout(config.dropout)
        self.presence = nn.Linear(hidden, categories)
        self.polarity = nn.Linear(hidden, categories * len(config.polarities))
        self.sentiment = nn.Linear(hidden, len(config.sentiments))
        if config.pooling == "category_attention":
            # Zero weights: every token weighs the same at the start, so
            # training starts from the mean pooling and learns where to look.
            self.category_query = nn.Linear(hidden, categories)
            nn.init.zeros_(self.category_query.weight)
            nn.init.zeros_(self.category_query.bias)

    def forward(self, batch: WindowBatch) -> dict[str, torch.Tensor]:
        with torch.autocast("cpu", torch.bfloat16, enabled=self.encoder_autocast):
            hidden = self.encoder(
                input_ids=batch.input_ids, attention_mask=batch.attention_mask
            ).last_hidden_state
        hidden = hidden.float()  # a bf16 encoder feeds float32 heads
        pooled = self.dropout(
            pool_windows(hidden, batch.attention_mask, batch.owner, batch.comments)
        )
        if self.config.pooling == "category_attention":
            per_category = attend_windows(
                hidden,
                self.category_query(hidden),
                batch.attention_mask,
                batch.owner,
                batch.comments,
            )
            return self._heads(pooled, self.dropout(per_category))
        return self._heads(pooled, None)

    def _heads(
        self, pooled: torch.Tensor, per_category: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """pooled (b, h); per_category (b, K, h), or None: all heads read pooled."""
        categories = len(self.config.categories)
        polarities = len(self.config.polarities)
        if per_category is None:
            presence = self.presence(pooled)
            polarity = self.polarity(pooled).view(-1, categories, polarities)
        else:
            # Category k's logits read only category k's vector.
            presence = (per_category * self.presence.weight).sum(-1)
            presence = presence + self.presence.bias
            weight = self.polarity.weight.view(categories, polarities, -1)
            polarity = torch.einsum("bkh,kph->bkp", per_category, weight)
            polarity = polarity + self.polarity.bias.view(categories, polarities)
        return {
            "presence": presence,  # (b, K)
            "polarity": polarity,  # (b, K, P)
            "sentiment": self.sentiment(pooled),  # (b, S)
        }


class WindowTokenizer:
    """Texts -> :class:`WindowBatch`, using the encoder's own tokenizer."""

    def __init__(self, tokenizer, config: ClassifierConfig) -> None:
        self.tokenizer = tokenizer
        self.config = config
        self.prefix_ids = tokenizer(config.query_prefix, add_special_tokens=False)[
            "input_ids"
        ]

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        # verbose=False: a comment longer than the encoder's 512 positions is
        # expected here, it is cut into windows below.
        return self.tokenizer(list(texts), add_special_tokens=False, verbose=False)[
            "input_ids"
        ]

    def windows(
        self, token_ids: list[list[int]], max_windows: int | None = None
    ) -> WindowBatch:
        windows, owners, truncated = split_windows(
            token_ids,
            self.prefix_ids,
            bos=self.tokenizer.cls_token_id,
            eos=self.tokenizer.sep_token_id,
            window_tokens=self.config.window_tokens,
            max_windows=max_windows or self.config.max_windows,
        )
        return pad_windows(
            windows, owners, self.tokenizer.pad_token_id, len(token_ids), truncated
        )

    def __call__(self, texts: list[str], max_windows: int | None = None) -> WindowBatch:
        return self.windows(self.token_ids(texts), max_windows)


def load_encoder(name_or_path: str) -> nn.Module:
    from transformers import AutoModel

    kwargs = {}
    if _is_bert(name_or_path):
        kwargs["add_pooling_layer"] = False
    return AutoModel.from_pretrained(name_or_path, **kwargs)


def _is_bert(name_or_path: str) -> bool:
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(name_or_path).model_type == "bert"


def save_classifier(model: FeedbackClassifier, tokenizer, folder: Path) -> None:
    """Weights, encoder architecture, tokenizer and pingjia.json into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, folder / WEIGHTS_FILE)
    model.encoder.config.save_pretrained(folder / ENCODER_CONFIG_DIR)
    tokenizer.save_pretrained(folder)
    model.config.save(folder)


def _mismatch(folder: Path, config: ClassifierConfig, state: dict, error) -> str:
    """Why the weights do not fit the architecture pingjia.json describes."""
    attention = any(k.startswith("category_query.") for k in state)
    if attention != (config.pooling == "category_attention"):
        wanted = "category_attention" if attention else "mean"
        return (
            f"the weights in {str(folder)!r} were trained with pooling "
            f"{wanted!r}, but its pingjia.json says {config.pooling!r}; set "
            f'"pooling": "{wanted}" there, or copy the whole model folder again'
        )
    first = str(error).splitlines()[1:2] or [str(error)]
    return (
        f"the weights in {str(folder)!r} do not fit its pingjia.json and encoder/ "
        f"config ({first[0].strip()}); the files come from different models: copy "
        "the whole model folder again"
    )


def load_classifier_module(folder: Path) -> tuple[FeedbackClassifier, object]:
    """Rebuild a saved classifier offline: no hub, no base encoder needed."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    folder = Path(folder)
    config = ClassifierConfig.load(folder)
    encoder_config = AutoConfig.from_pretrained(folder / ENCODER_CONFIG_DIR)
    kwargs = {"add_pooling_layer": False} if encoder_config.model_type == "bert" else {}
    encoder = AutoModel.from_config(encoder_config, **kwargs)

    model = FeedbackClassifier(config, encoder)
    state = load_file(folder / WEIGHTS_FILE)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(_mismatch(folder, config, state, error)) from None
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    logger.info("loaded classifier from %s", folder)
    return model, tokenizer
