"""The classifier's own configuration, saved as ``pingjia.json`` in every model."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "pingjia.json"
POOLINGS = ("mean", "category_attention")


@dataclass
class ClassifierConfig:
    """What a saved classifier needs to rebuild its heads and read its inputs."""

    base_encoder: str
    label_set_version: str
    categories: list[str]
    polarities: list[str]
    sentiments: list[str]
    # Long comments are cut into windows of this many tokens (special tokens and
    # the "query: " prefix included) and their token vectors pooled together,
    # so the whole text counts; see model.windows.
    window_tokens: int = 128
    max_windows: int = 16
    query_prefix: str = "query: "
    dropout: float = 0.1
    # How the category heads read a comment: "mean" of its token vectors (the
    # sentiment head always does), or "category_attention": a learned query per
    # category weighs the tokens, so a short mention in a long comment is not
    # averaged away. Models saved before this field read "mean".
    pooling: str = "mean"
    kind: str = "transformer"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.window_tokens < 8:
            raise ValueError(f"expected window_tokens >= 8, got {self.window_tokens!r}")
        if not self.categories:
            raise ValueError("expected at least one category, got none")
        if self.pooling not in POOLINGS:
            raise ValueError(
                f"expected pooling to be one of {', '.join(POOLINGS)}, got "
                f"{self.pooling!r}"
            )

    def save(self, folder: Path) -> None:
        path = Path(folder) / CONFIG_FILE
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, folder: Path) -> ClassifierConfig:
        path = Path(folder) / CONFIG_FILE
        if not path.exists():
            raise FileNotFoundError(
                f"expected a pingjia model folder with {CONFIG_FILE} at "
                f"{str(folder)!r}, found none; train one with `pingjia train`"
            )
        return _read(cls, path)


@dataclass
class Calibration:
    """Temperatures (logit divisors) and per-category decision thresholds."""

    presence_temperature: list[float]
    polarity_temperature: float = 1.0
    sentiment_temperature: float = 1.0
    thresholds: list[float] = field(default_factory=list)
    # A comment is flagged for review when its sentiment score is below this,
    # or a category score lies within review_margin of its threshold.
    review_sentiment_below: float = 0.6
    review_margin: float = 0.1
    # Share of the lexical (TF-IDF) model saved in the model's lexical/ folder
    # in the blended probabilities, chosen on dev; 0: the encoder alone.
    lexical_presence: float = 0.0
    lexical_sentiment: float = 0.0  # overall sentiment and category polarity
    # Temperatures applied to the blended probabilities (on their logits), so
    # that a blended score means what it says too.
    blend_presence_temperature: list[float] = field(default_factory=list)
    blend_polarity_temperature: float = 1.0
    blend_sentiment_temperature: float = 1.0

    def __post_init__(self) -> None:
        for name in ("lexical_presence", "lexical_sentiment"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value <= 1:
                raise ValueError(f"expected {name} from 0 to 1, got {value!r}")
        temperatures = [
            *self.presence_temperature,
            *self.blend_presence_temperature,
            self.polarity_temperature,
            self.sentiment_temperature,
            self.blend_polarity_temperature,
            self.blend_sentiment_temperature,
        ]
        if not all(_is_number(t) and t > 0 for t in temperatures):
            raise ValueError(f"expected temperatures above 0, got {temperatures!r}")
        if not all(_is_number(t) and 0 <= t <= 1 for t in self.thresholds):
            raise ValueError(
                f"expected thresholds from 0 to 1, got {self.thresholds!r}"
            )

    @property
    def blends_lexical(self) -> bool:
        return self.lexical_presence > 0 or self.lexical_sentiment > 0

    @classmethod
    def identity(cls, categories: int) -> Calibration:
        return cls(
            presence_temperature=[1.0] * categories, thresholds=[0.5] * categories
        )

    def save(self, folder: Path) -> None:
        (Path(folder) / "calibration.json").write_text(
            json.dumps(asdict(self), indent=2), "utf-8"
        )

    @classmethod
    def load(cls, folder: Path, categories: int) -> Calibration:
        path = Path(folder) / "calibration.json"
        if not path.exists():
            # Uncalibrated scores under the model's thresholds would silently
            # mean something else: refuse rather than fall back.
            raise FileNotFoundError(
                f"expected the calibration of the model (temperatures and "
                f"thresholds) at {str(path)!r}, found none; copy the whole model "
                "folder, or train it again with `pingjia train`"
            )
        calibration = _read(cls, path)
        if len(calibration.thresholds) != categories:
            raise ValueError(
                f"expected {categories} thresholds in {str(path)!r} (one per "
                f"category of the model), got {len(calibration.thresholds)}; the "
                "file belongs to another model: copy the whole model folder"
            )
        return calibration


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _read(cls, path: Path):
    """One of the model's JSON files as ``cls``; what is wrong names the file."""
    fix = "copy the whole model folder again, or train it again with `pingjia train`"
    try:
        fields = json.loads(path.read_text("utf-8"))
        if not isinstance(fields, dict):
            raise TypeError(f"expected a JSON object, got {type(fields).__name__}")
        return cls(**fields)
    except (ValueError, TypeError) as error:
        # JSONDecodeError is a ValueError; unknown or missing keys a TypeError
        raise ValueError(
            f"{str(path)!r} is not a valid model file: {error}; {fix}"
        ) from error
