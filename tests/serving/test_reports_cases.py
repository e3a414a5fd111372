"""Training cases: masking, diversity, confidence, highlights."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from serving.reports.cases import _Space, highlight, training_cases
from serving.reports.data import ReportInputError
from serving.reports.mask import mask
from tests.serving.reports_fixtures import demo_triple


@pytest.fixture(scope="module")
def demo(corpus):
    return demo_triple(corpus)


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        # an 11-digit mobile, plain and written 3-4-4 with dashes or spaces
        ("骑手电话13812345678一直打不通", "13812345678", "一直打不通"),
        ("联系我:138-1234-5678谢谢", "138-1234-5678", "谢谢"),
        ("打 +86 139 8765 4321 没人接", "139 8765 4321", "没人接"),
        # a landline with its area code
        ("客服电话010-62345678占线", "62345678", "占线"),
        # order and tracking numbers: long digit runs, letters after 订单号
        ("订单号:202611030012345678还没退款", "202611030012345678", "还没退款"),
        ("运单号SF1234567890查不到", "SF1234567890", "查不到"),
        ("订单１２３４５６７８９０没到", "１２３４５６７８９０", "没到"),  # full-width
        # names before a title, and after 我叫
        ("王先生态度很差", "王先生", "态度很差"),
        ("前台李小姐很热情", "李小姐", "很热情"),
        ("我叫张伟,投诉三次了", "张伟", "投诉三次了"),
        # a bare name, as the tagger reads it
        ("客服李明态度很差,一直推脱", "李明", "态度很差"),
        ("今天和张伟一起去的,味道不错", "张伟", "味道不错"),
        # addresses: road with number, building parts, a named estate
        ("送到中山路100号就走了", "中山路100号", "就走了"),
        ("3栋2单元501室没人签收", "501室", "没人签收"),
        ("阳光花园门口等了半天", "阳光花园", "门口等了半天"),
        ("邮箱abc.de@example.com没回复", "abc.de@example.com", "没回复"),
    ],
)
def test_mask_hides_personal_data(text, hidden, kept):
    masked = mask(text)
    assert hidden not in masked
    assert kept in masked
    assert "[" in masked


@pytest.mark.parametrize(
    "text",
    [
        "送餐很快,味道不错👍",  # no personal data, emoji
        "等了2个小时",  # short numbers are not order numbers
        "一路小跑送来的,很感动",  # 路 without a number is not an address
        "这位先生态度很好",  # a title without a surname
        "周到的服务,马上就到了",  # surnames as ordinary characters
        "高速公路上堵车,方便面也凉了,谢谢",
        "顾客要的毛巾有点陈旧",  # words jieba tags as names
        "",
    ],
)
def test_mask_leaves_ordinary_text_alone(text):
    assert mask(text) == text


def test_cases_are_diverse_masked_and_marked(demo):
    records, _, _ = demo
    report = training_cases(records, n=5, max_similarity=0.5)
    texts = {r["id"]: r["text"] for r in records}
    space = _Space.fit(pd.Series(texts))

    assert {c["category"] for c in report["categories"]} >= {"speed", "attitude"}
    for category in report["categories"]:
        cases = category["cases"]
        assert len(cases) == 5, category["category"]
        rows = space.rows([c["id"] for c in cases])
        similarity = (rows @ rows.T).toarray()
        off_diagonal = similarity[~np.eye(len(cases), dtype=bool)]
        assert off_diagonal.max() <= 0.5 + 1e-9, category["category"]
        for case in cases:
            assert not re.search(r"\d{11}", case["text"])
            span = case["highlight"]
            assert span and case["text"][span["start"] : span["end"]] == span["text"]


def test_cases_need_no_times_unless_a_period_is_asked(demo):
    records = [{k: v for k, v in r.items() if k != "created_at"} for r in demo[0]]

    report = training_cases(records, categories=["speed"], n=2)

    cases = report["categories"][0]["cases"]
    assert len(cases) == 2 and all(c["created_at"] is None for c in cases)
    with pytest.raises(ReportInputError, match="expected 'created_at'"):
        training_cases(records, categories=["speed"], period="2026-11-01:2026-11-30")


def test_cases_skip_unconfident_labels(demo):
    records = [dict(r) for r in demo[0]]
    speed = [r for r in records if any(c["label"] == "speed" for c in r["categories"])]
    doubtful = set()
    for record in speed[::2]:  # half the speed comments get a doubtful label
        record["categories"] = [
            {**c, "score": 0.55} if c["label"] == "speed" else c
            for c in record["categories"]
        ]
        doubtful.add(record["id"])

    report = training_cases(records, categories=["speed"], n=5, min_score=0.7)
    chosen = {c["id"] for c in report["categories"][0]["cases"]}
    assert len(chosen) == 5 and not chosen & doubtful


def test_cases_give_a_positive_contrast(demo):
    report = training_cases(demo[0], categories=["speed"], n=3)
    contrast = report["categories"][0]["contrast"]
    positives = {
        r["id"]
        for r in demo[0]
        for c in r["categories"]
        if c["label"] == "speed" and c["sentiment"] == "positive"
    }
    assert contrast["id"] in positives


def test_highlight_picks_the_clause_with_indicative_terms():
    text = "菜的味道还行,就是等了两个小时才送到!下次再说"
    span = highlight(text, {"小时": 1.0, "等了": 0.5})
    assert span["text"] == "就是等了两个小时才送到!"


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [({"n": 0}, "at least 1 case"), ({"categories": ["foo"]}, "got ['foo']")],
)
def test_cases_refuse_bad_options(demo, kwargs, says):
    from serving.reports.data import ReportInputError

    with pytest.raises(ReportInputError, match=re.escape(says)):
        training_cases(demo[0], **kwargs)
