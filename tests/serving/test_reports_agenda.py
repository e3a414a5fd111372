"""Retrospective agenda on demo data: ranking, attribution, follow-up."""

from __future__ import annotations

import json

import pytest

from serving.reports.agenda import read_agenda, retro_agenda
from serving.reports.data import ReportInputError
from tests.serving.reports_fixtures import BEFORE, PERIOD, demo_triple


@pytest.fixture(scope="module")
def demo(corpus):
    return demo_triple(corpus)


@pytest.fixture(scope="module")
def november(demo):
    records, _, events = demo
    return retro_agenda(records, PERIOD, events=events)


def test_agenda_ranks_the_planted_issue_first(november, demo):
    _, config, _ = demo
    first = november["issues"][0]

    assert first["category"] == config.step_category
    assert first["trend"] == "worse"
    assert first["attribution"]["verdict"] == "systemic"
    assert first["attribution"]["concentrated_in"]["process_step"] == ["refund"]
    assert 2 <= len(first["examples"]) <= 3
    # A large complaint that did not move is on the agenda, but not on top.
    product = next(i for i in november["issues"] if i["category"] == "product")
    assert product["trend"] == "steady" and product["rank"] > first["rank"]


def test_agenda_calls_the_planted_agent_individual(november, demo):
    _, config, _ = demo
    attitude = next(i for i in november["issues"] if i["category"] == "attitude")

    assert attitude["attribution"]["verdict"] == "individual"
    assert attitude["attribution"]["flagged"] == [config.planted_agent]


def test_agenda_praise_is_not_led_by_a_tiny_agent(november):
    praise = november["praise"]

    assert len(praise) == 3
    assert all(p["comments"] >= 20 for p in praise)
    rates = [p["shrunk_rate"] for p in praise]
    assert rates == sorted(rates, reverse=True)


def test_agenda_reports_improvement_against_previous_agenda(november, demo, tmp_path):
    records, config, _ = demo
    path = tmp_path / "previous.json"
    path.write_text(json.dumps(november, ensure_ascii=False), encoding="utf-8")

    # The demo's speed complaints only rose after the change, so the weeks
    # before it serve as the "later" period in which the issue is better.
    later = retro_agenda(records, BEFORE, previous_agenda=path)
    status = {f["category"]: f["status"] for f in later["follow_up"]}
    assert status[config.step_category] == "improved"
    assert status["product"] == "unchanged"


def test_agenda_follow_up_says_worse_when_it_got_worse(november, demo):
    records, config, _ = demo
    earlier = retro_agenda(records, BEFORE, examples=0)
    follow = retro_agenda(records, PERIOD, previous_agenda=earlier, examples=0)

    status = {f["category"]: f["status"] for f in follow["follow_up"]}
    assert status[config.step_category] == "worse"


def test_read_agenda_raises_error_with_other_report(tmp_path):
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"report": "cases"}), encoding="utf-8")

    with pytest.raises(ReportInputError, match="expected an agenda report"):
        read_agenda(path)


def test_agenda_raises_error_for_a_period_without_data(demo):
    with pytest.raises(ReportInputError, match="expected comments in the agenda"):
        retro_agenda(demo[0], "2020-01-01:2020-01-31")
