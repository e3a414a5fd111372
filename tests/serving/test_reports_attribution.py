"""Attribution on demo data: planted agent and process effects, no false flags."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from serving.reports.attribution import (
    attribution_report,
    check_events,
    read_events,
)
from serving.reports.data import ReportInputError, load_frames, parse_period
from serving.reports.demo import agent_name
from serving.reports.stats import change_point, fit_beta_prior, unit_rates
from tests.serving.reports_fixtures import PERIOD, demo_data, demo_triple


@pytest.fixture(scope="module")
def demo(corpus):
    return demo_triple(corpus)


def test_attribution_finds_planted_agent(demo):
    records, config, events = demo
    report = attribution_report(records, "attitude", period=PERIOD, events=events)

    assert report["verdict"] == "individual"
    assert report["individual"]["flagged"] == [config.planted_agent]
    assert report["individual"]["units"][0]["unit"] == config.planted_agent


def test_attribution_finds_planted_process_step(demo):
    records, config, events = demo
    report = attribution_report(records, "speed", period=PERIOD, events=events)

    assert report["verdict"] == "systemic"
    assert report["individual"]["flagged"] == []
    assert report["concentrated_in"]["process_step"] == [config.planted_step]
    assert report["concentrated_in"]["channel"] == []
    assert report["rise"]["excess"] > 0 and report["rise"]["p"] < 0.05


def test_attribution_change_point_matches_planted_event(demo):
    records, config, events = demo
    report = attribution_report(records, "speed", period=PERIOD, events=events)

    point = report["timeline"]["change_point"]
    gap = (date.fromisoformat(point["date"]) - config.change_date).days
    assert abs(gap) <= 3
    assert point["p"] < 0.05 and point["rate_after"] > point["rate_before"]
    matched = report["timeline"]["matched_events"]
    # The decoy event lies weeks earlier and must not match.
    assert [e["date"] for e in matched] == [config.change_date.isoformat()]


@pytest.mark.parametrize("seed", range(5))
def test_attribution_does_not_flag_small_agents(corpus, seed):
    records = demo_data(corpus, seed)
    config_small = {agent_name(i) for i in range(21, 24)}
    whole = "2026-09-07:2026-11-29"  # small agents' few comments are spread

    for category in ("attitude", "speed", "product"):
        report = attribution_report(records, category, period=whole)
        units = {u["unit"]: u for u in report["individual"]["units"]}
        small = [units[name] for name in config_small if name in units]
        assert small, "the demo should give the small agents comments"
        assert not any(u["flagged"] for u in small), (category, seed, small)

    # Each small agent had one unlucky attitude comment: a raw rate far above
    # the pooled one, yet its shrunk rate stays below the planted agent's.
    report = attribution_report(records, "attitude", period=whole)
    units = {u["unit"]: u for u in report["individual"]["units"]}
    planted = units["demo-agent-07"]
    for name in config_small:
        assert units[name]["rate"] > 3 * report["rise"]["rate"]
        assert units[name]["shrunk_rate"] < planted["low"]


def test_attribution_by_team_flags_the_planted_agents_team(demo):
    records, config, _ = demo
    report = attribution_report(records, "attitude", period=PERIOD, by="team")
    team = next(r["team"] for r in records if r["agent_id"] == config.planted_agent)

    assert report["individual"]["flagged"] == [team]


def test_attribution_without_metadata_says_it_cannot_place_the_rise(demo):
    fields = ("agent_id", "team", "channel", "process_step", "rating")
    records = [{k: v for k, v in r.items() if k not in fields} for r in demo[0]]
    report = attribution_report(records, "speed", period=PERIOD)

    assert report["verdict"] == "systemic"
    assert "carry no agent, team, step or channel" in report["reason"]
    assert report["individual"]["units"] == []


def test_attribution_raises_error_with_missing_created_at(demo):
    records = [dict(r) for r in demo[0][:5]]
    records[2].pop("created_at")

    with pytest.raises(ReportInputError, match="expected 'created_at'.*got None"):
        attribution_report(records, "speed")


def test_attribution_raises_error_with_unknown_by(demo):
    with pytest.raises(ReportInputError, match="expected --by as one of"):
        attribution_report(demo[0], "speed", by="channel")


@pytest.mark.parametrize(
    "text",
    ["2026-11-30", "2026-11-01-2026-11-30", "2026-13-01:2026-12-01", ""],
)
def test_parse_period_raises_error_with_bad_text(text):
    with pytest.raises(ReportInputError, match="expected a period"):
        parse_period(text)


@pytest.mark.parametrize(
    ("name", "body", "says"),
    [
        ("e.csv", b"date,description\n2026-11-02,\xff\n", "as UTF-8 CSV.*0xff"),
        ("e.csv", "when,what\n2026-11-02,新流程\n".encode(), "got when, what"),
        ("e.jsonl", b'{"date": "2026-11-02"\n', "JSON"),
    ],
)
def test_read_events_names_a_file_it_cannot_read(tmp_path, name, body, says):
    path = tmp_path / name
    path.write_bytes(body)

    with pytest.raises(ReportInputError, match=says):
        read_events(path)


def test_read_events_reads_a_csv_with_a_bom(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("\ufeffdate,description\n2026-11-02,新流程\n", "utf-8")

    assert read_events(path) == [{"date": "2026-11-02", "description": "新流程"}]


def test_check_events_raises_error_with_bad_date():
    with pytest.raises(ReportInputError, match="expected each event with a 'date'"):
        check_events([{"date": "next monday", "description": "x"}])


def test_load_frames_converts_offsets_to_utc():
    record = {
        "id": "a",
        "text": "送餐太慢",
        "created_at": "2026-11-02T03:00:00+08:00",
        "sentiment": {"label": "negative", "score": 0.9},
        "categories": [],
    }
    frames = load_frames([record])
    assert frames.comments["created_at"].iloc[0] == pd.Timestamp("2026-11-01 19:00")


def test_fit_beta_prior_is_stronger_for_homogeneous_units():
    rng = np.random.default_rng(0)
    n = np.full(30, 200)
    same = rng.binomial(n, 0.1)
    varied = rng.binomial(n, rng.uniform(0.02, 0.4, size=30))

    assert fit_beta_prior(same, n).strength > 10 * fit_beta_prior(varied, n).strength
    assert fit_beta_prior(varied, n).mean == pytest.approx(varied.sum() / n.sum())


def test_unit_rates_flags_a_large_unit_not_a_tiny_one():
    rows = [("big", 1 if i < 60 else 0) for i in range(200)]
    rows += [(f"u{j}", 1 if i < 10 else 0) for j in range(10) for i in range(100)]
    rows += [("tiny", 1), ("tiny", 0)]  # 50% raw rate on two comments
    frame = pd.DataFrame(rows, columns=["agent_id", "hit"])

    units = unit_rates(frame, "agent_id").set_index("unit")
    assert units.loc["big", "flagged"]
    assert not units.loc["tiny", "flagged"]
    assert units.loc["tiny", "shrunk"] < units.loc["tiny", "rate"]


def test_change_point_finds_a_step_in_a_daily_rate():
    rng = np.random.default_rng(1)
    days = pd.date_range("2026-01-01", periods=60, freq="D").repeat(50)
    rate = np.where(days >= pd.Timestamp("2026-02-10"), 0.3, 0.1)
    hits = pd.Series(rng.random(len(days)) < rate).astype(int)

    point = change_point(pd.Series(days), hits)
    assert point.date == "2026-02-10"
    assert point.p < 0.05


def test_change_point_finds_no_change_in_a_flat_rate():
    rng = np.random.default_rng(2)
    days = pd.Series(pd.date_range("2026-01-01", periods=60, freq="D").repeat(50))
    hits = pd.Series(rng.random(len(days)) < 0.1).astype(int)

    assert change_point(days, hits).p > 0.05


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"polarity": "angry"}, "expected polarity as one of"),
        ({"baseline": "2026-11-20:2026-12-05"}, "a baseline that ends before"),
        ({"period": "9999-12-01:9999-12-31"}, "between the years 1900 and 2200"),
    ],
)
def test_attribution_refuses_bad_options_saying_why(demo, kwargs, says):
    records, _, _ = demo
    options = {"period": PERIOD, **kwargs}

    with pytest.raises(ReportInputError, match=says):
        attribution_report(records, "speed", **options)


def test_unit_with_one_comment_is_not_flagged_against_spotless_peers():
    frame = pd.DataFrame(
        {"agent_id": ["new"] + ["old"] * 40 + ["other"] * 40, "hit": [1] + [0] * 80}
    )

    units = unit_rates(frame, "agent_id").set_index("unit")

    assert units.loc["new", "p"] < 0.05  # the test alone would flag it
    assert not units["flagged"].any()


def test_demo_works_on_labels_without_any_agent_category_negative():
    from serving.reports.demo import DemoConfig, demo_records

    records = [
        {
            "id": f"c{i}",
            "text": "送得太慢了" if i % 2 else "很好吃",
            "sentiment": {"label": "negative" if i % 2 else "positive", "score": 0.9},
            "categories": [{"label": "speed", "score": 0.9, "sentiment": "negative"}]
            if i % 2
            else [],
        }
        for i in range(300)
    ]  # a weak model's labels: no attitude negatives for the small agents

    out = demo_records(records, DemoConfig(seed=0))

    small = {agent_name(i) for i in range(21, 24)}
    assert len(out) == 300
    assert {r["agent_id"] for r in out} >= small


def test_a_period_whose_period_before_is_out_of_range_says_so():
    period = parse_period("2000-01-01:2099-12-31")

    with pytest.raises(ReportInputError, match="2000-01-01:2099-12-31.*shorter"):
        period.previous()
