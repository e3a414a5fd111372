"""Active-learning order: uncertain comments first, near-copies held back.

Real comments come from shared/data at run time; the near-copies are made here
by changing one character of a real comment.
"""

import difflib
import json
import random

import pytest
from typer.testing import CliRunner

from labels.active import active_order, uncertainty
from labels.cli import app

FAMILIES = 5  # comments copied
COPIES = 20  # near-copies of each, one character changed


def near_copies(text: str, rng: random.Random) -> list[str]:
    copies: set[str] = set()
    while len(copies) < COPIES:
        at = rng.randrange(len(text))
        copies.add(text[:at] + rng.choice("的了很好差快慢啊呢吧！") + text[at + 1 :])
    return sorted(copies - {text})


def all_scores_record(rng: random.Random, unsure: bool) -> dict:
    """A `pingjia classify --all-scores` record; unsure ones sit at the threshold."""
    categories = [
        {
            "label": key,
            "score": 0.5 if unsure and key == "product" else rng.random() ** 4,
            "sentiment": "negative",
            "sentiment_score": 0.8,
            "present": False,
        }
        for key in ("speed", "product", "price")
    ]
    top = 0.4 if unsure else rng.uniform(0.34, 1.0)
    return {
        "sentiment": {"label": "negative", "score": top},
        "categories": categories,
        "review": unsure or rng.random() < 0.1,
    }


@pytest.fixture(scope="module")
def pool(corpus):
    """400 real comments plus 5 families of 21 near-identical ones."""
    rng = random.Random(7)
    rows = corpus.filter(
        lambda s, t: s == "waimai" and 12 <= len(t) <= 60,
        input_columns=["source", "text"],
    )
    texts = list(dict.fromkeys(rows.shuffle(seed=3)[:600]["text"]))[:400]
    family = {}
    for number, base in enumerate(texts[:FAMILIES]):
        for copy in near_copies(base, rng):
            texts.append(copy)
            family[len(texts) - 1] = number
        family[number] = number
    predictions = [all_scores_record(rng, i in family) for i in range(len(texts))]
    return texts, predictions, family


def test_uncertainty_highest_at_the_threshold():
    sure = {
        "sentiment": {"label": "positive", "score": 0.99},
        "categories": [{"label": "product", "score": 0.98}],
        "review": False,
    }
    unsure = {
        "sentiment": {"label": "positive", "score": 1 / 3},
        "categories": [{"label": "product", "score": 0.5}],
        "review": True,
    }

    assert uncertainty(unsure) == pytest.approx(1.0)
    assert uncertainty(sure) < 0.2
    assert uncertainty({"id": "x", "sentiment": "positive", "categories": {}}) == 0
    assert uncertainty(None) == 0


def test_active_order_first_100_have_no_near_copies(pool):
    texts, predictions, family = pool

    result = active_order(texts, predictions, diversity=0.3, limit=100)

    first = result.order
    assert len(first) == 100 == len(set(first))
    members = [family[i] for i in first if i in family]
    assert sorted(members) == list(range(FAMILIES))  # one of each family, no more
    assert result.held_back >= FAMILIES * COPIES - FAMILIES
    # an independent check of closeness: character edit similarity
    close = [
        (a, b)
        for n, a in enumerate(first)
        for b in first[n + 1 :]
        if difflib.SequenceMatcher(None, texts[a], texts[b]).ratio() > 0.9
    ]
    assert close == []


def test_active_order_puts_the_most_uncertain_early(pool):
    texts, predictions, family = pool

    result = active_order(texts, predictions, diversity=0.3, limit=100)

    scores = result.uncertainty
    assert result.order[0] == int(scores.argmax())
    others = sorted(
        (i for i in range(len(texts)) if i not in family), key=lambda i: -scores[i]
    )
    assert len(set(others[:20]) & set(result.order[:40])) >= 16
    picked = [i for i in result.order if i not in family]
    rest = [i for i in others if i not in set(result.order)]
    assert scores[picked].min() > scores[rest].mean()
    assert scores[picked].mean() > scores[rest].mean() + 0.2


def test_active_order_without_the_cap_fills_the_batch_with_copies(pool):
    # the check above can fail: uncertainty alone takes every near-copy first
    texts, predictions, family = pool

    result = active_order(
        texts, predictions, diversity=0.0, duplicate_cosine=1.0, limit=100
    )

    assert sum(i in family for i in result.order) >= 90


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"diversity": 1.5}, "expected diversity in [0, 1]"),
        ({"duplicate_cosine": 0.0}, "expected duplicate_cosine in (0, 1]"),
    ],
)
def test_active_order_rejects_weights_out_of_range(options, words):
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("(", r"\(")):
        active_order(["好评"], [None], **options)


def test_studio_tasks_active_order_and_limit(tmp_path, pool):
    texts, predictions, family = pool
    comments = tmp_path / "comments.jsonl"
    predicted = tmp_path / "predicted.jsonl"
    ids = [f"waimai-{i:016x}" for i in range(len(texts))]
    comments.write_text(
        "".join(
            json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n"
            for i, t in zip(ids, texts, strict=True)
        ),
        "utf-8",
    )
    predicted.write_text(
        "".join(
            json.dumps({"id": i, **p}, ensure_ascii=False) + "\n"
            for i, p in zip(ids, predictions, strict=True)
        ),
        "utf-8",
    )
    output = tmp_path / "tasks.json"

    result = CliRunner().invoke(
        app,
        [
            "studio",
            "tasks",
            str(comments),
            "--version",
            "1",
            "--predictions",
            str(predicted),
            "--limit",
            "100",
            "-o",
            str(output),
        ],
    )

    assert result.exit_code == 0, result.output
    tasks = json.loads(output.read_text("utf-8"))
    assert len(tasks) == 100
    chosen = [ids.index(t["data"]["id"]) for t in tasks]
    assert sum(i in family for i in chosen) == FAMILIES
    assert "near-copies held back" in result.output
    # with --all-scores, only categories marked present become pre-annotations
    assert all(
        r["from_name"] == "sentiment"
        for t in tasks
        for r in t["predictions"][0]["result"]
    )


def test_studio_tasks_input_order_keeps_the_file_order(tmp_path):
    comments = tmp_path / "comments.jsonl"
    comments.write_text(
        '{"id": "waimai-00000000000000b1", "text": "送餐很快😀"}\n'
        '{"id": "waimai-00000000000000b2", "text": "送餐很快😀！"}\n'
        '{"id": "waimai-00000000000000b3", "text": "汤洒了"}\n',
        "utf-8",
    )
    output = tmp_path / "tasks.json"

    result = CliRunner().invoke(
        app,
        [
            "studio",
            "tasks",
            str(comments),
            "--order",
            "input",
            "--limit",
            "2",
            "-o",
            str(output),
        ],
    )

    assert result.exit_code == 0, result.output
    tasks = json.loads(output.read_text("utf-8"))
    assert [t["data"]["id"][-2:] for t in tasks] == ["b1", "b2"]
