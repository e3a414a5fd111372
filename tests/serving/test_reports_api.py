"""GET /v1/reports/attribution over the feedback store: same report as the CLI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from serving.app import create_app
from serving.reports.attribution import attribution_report
from serving.settings import ServingSettings
from serving.store import FeedbackStore
from serving.store.keys import hash_key
from tests.serving.reports_fixtures import PERIOD, demo_triple

KEY = "report-key-0123456789"


@pytest.fixture(scope="module")
def demo(corpus):
    return demo_triple(corpus)


@pytest.fixture(scope="module")
def client(tiny_model, demo, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'feedback.db'}"
    with FeedbackStore(url) as store:
        store.ingest(demo[0])
    settings = ServingSettings(
        model_path=tiny_model[0], database_url=url, api_keys=[hash_key(KEY)]
    )
    with TestClient(create_app(settings)) as client:
        yield client


def get(client, key: str | None = KEY, **params):
    headers = {"X-API-Key": key} if key else {}
    return client.get("/v1/reports/attribution", params=params, headers=headers)


def test_attribution_route_gives_the_report_of_the_records(client, demo):
    records, config, events = demo
    event = f"{config.change_date.isoformat()}:{events[-1]['description']}"

    response = get(client, category="speed", period=PERIOD, event=[event])

    assert response.status_code == 200, response.text
    report = response.json()
    expected = attribution_report(records, "speed", period=PERIOD)
    assert report["verdict"] == expected["verdict"] == "systemic"
    assert report["rise"] == expected["rise"]
    assert report["concentrated_in"]["process_step"] == [config.planted_step]
    matched = report["timeline"]["matched_events"]
    assert [e["date"] for e in matched] == [config.change_date.isoformat()]


def test_attribution_route_by_team_and_default_period(client, demo):
    records, _, _ = demo

    response = get(client, category="attitude", by="team")

    assert response.status_code == 200, response.text
    expected = attribution_report(records, "attitude", by="team")
    assert response.json()["period"] == expected["period"]
    assert response.json()["individual"] == expected["individual"]


def test_attribution_route_needs_a_key(client):
    response = get(client, key=None, category="speed")

    assert response.status_code == 401
    assert "X-API-Key" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"category": "nonsense"}, "expected a category that occurs"),
        ({"category": "speed", "period": "last week"}, "expected a period as START"),
        ({"category": "speed", "period": "2026-11-29:2026-11-02"}, "swap the dates"),
        ({"category": "speed", "by": "channel"}, "expected --by as one of"),
        ({"category": "speed", "event": "soon:new menu"}, "expected each event"),
        ({"category": "speed", "period": "2030-01-01:2030-01-31"}, "got none"),
    ],
)
def test_attribution_route_bad_input_is_a_422_that_says_why(client, params, says):
    response = get(client, **params)

    assert response.status_code == 422, response.text
    assert says in str(response.json()["detail"])


def test_attribution_route_without_category_names_the_field(client):
    response = get(client)

    assert response.status_code == 422
    assert "category" in response.text
