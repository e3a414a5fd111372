"""POST /v1/feedback and GET /v1/feedback/{id}: keys, round trip, errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from labels.ids import comment_id
from model.predict import load_model
from serving.app import create_app
from serving.settings import ServingSettings
from serving.store import FeedbackStore
from serving.store.keys import hash_key
from tests.serving.store_fixtures import DATABASES, database_url

KEY = "test-key-0123456789"
OTHER_KEY = "another-key"
COMMENTS = [
    {
        "id": "t-1",
        "text": "客服半天不回，问题也没解决",
        "agent_id": "a17",
        "team": "售后一组",
        "created_at": "2026-11-03T14:05:00+08:00",
        "rating": 2,
        "order_channel": "app",
    },
    {"text": "骑手态度很好，很有礼貌😊"},
]


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path):
    yield from database_url(request.param, tmp_path)


@pytest.fixture
def client(tiny_model, db_url, tmp_path):
    key_file = tmp_path / "keys.txt"
    key_file.write_text(f"# a plaintext key file\n{OTHER_KEY}\n", "utf-8")
    settings = ServingSettings(
        model_path=tiny_model[0],
        database_url=db_url,
        api_keys=[hash_key(KEY)],
        api_key_file=key_file,
        max_comments=5,
        max_chars=50,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def post(client, comments, key: str | None = KEY, **headers):
    if key is not None:
        headers["X-API-Key"] = key
    return client.post("/v1/feedback", json={"comments": comments}, headers=headers)


def test_feedback_without_a_key_is_401_saying_how_to_send_one(client):
    response = post(client, COMMENTS, key=None)

    assert response.status_code == 401
    assert response.json()["detail"].startswith(
        "missing API key: expected an X-API-Key"
    )
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("key", ["wrong", KEY + " x", hash_key(KEY)])  # digest: no key
def test_feedback_with_a_wrong_key_is_401(client, key):
    response = post(client, COMMENTS, key=key)

    assert response.status_code == 401
    assert response.json()["detail"].startswith("wrong API key: the key sent matches")


def test_feedback_bearer_and_key_file_keys_are_accepted(client):
    bearer = post(client, COMMENTS[:1], key=None, Authorization=f"Bearer {KEY}")
    from_file = post(client, COMMENTS[1:], key=OTHER_KEY)

    assert (bearer.status_code, from_file.status_code) == (200, 200)


def test_feedback_round_trip_stores_comments_and_labels(client, tiny_model, db_url):
    first = post(client, COMMENTS)
    again = post(client, COMMENTS)
    stored = client.get("/v1/feedback/t-1", headers={"X-API-Key": KEY}).json()
    with FeedbackStore(db_url) as store:
        records = list(store.records())

    version = load_model(tiny_model[0]).version
    generated = comment_id("feedback", COMMENTS[1]["text"])
    body = first.json()
    assert first.status_code == 200 and body["model_version"] == version
    assert [(r["id"], r["status"], r["labels"]) for r in body["results"]] == [
        ("t-1", "new", "new"),
        (generated, "new", "new"),
    ]
    assert body["results"][0]["sentiment"]["label"] in (
        "positive",
        "negative",
        "neutral",
    )
    assert [(r["status"], r["labels"]) for r in again.json()["results"]] == [
        ("unchanged", "unchanged"),
        ("unchanged", "unchanged"),
    ]
    assert stored["team"] == "售后一组" and stored["order_channel"] == "app"
    assert stored["created_at"] == "2026-11-03T06:05:00+00:00"
    assert [h["model_version"] for h in stored["history"]] == [version]
    assert stored["sentiment"] == body["results"][0]["sentiment"]
    assert {r["id"] for r in records} == {"t-1", generated}
    assert all(r["model_version"] == version for r in records)


def test_feedback_changed_comment_is_updated(client):
    post(client, COMMENTS[:1])

    response = post(client, [{**COMMENTS[0], "rating": 4}])

    assert response.json()["results"][0]["status"] == "updated"
    stored = client.get("/v1/feedback/t-1", headers={"X-API-Key": KEY}).json()
    assert stored["rating"] == 4


@pytest.mark.parametrize(
    ("comment", "field"),
    [
        ({"text": "好", "rating": 9}, "rating"),
        ({"text": "好", "created_at": "昨天"}, "created_at"),
        ({"id": "x"}, "text"),
        ({"text": "好", "agent_id": "a" * 201}, "agent_id"),
    ],
)
def test_feedback_invalid_comment_is_422_naming_the_field(client, comment, field):
    response = post(client, [comment])

    assert response.status_code == 422
    assert field in str(response.json()["detail"])


def test_feedback_limits_are_those_of_classify(client):
    too_many = post(client, [{"text": "好"}] * 6)
    too_long = post(client, [{"text": "好" * 51}])

    assert too_many.status_code == 413 and "limit is 5" in too_many.json()["detail"]
    assert (
        too_long.status_code == 422 and "the limit is 50" in too_long.json()["detail"]
    )


def test_feedback_get_unknown_id_is_404(client):
    response = client.get("/v1/feedback/nope", headers={"X-API-Key": KEY})

    assert response.status_code == 404
    assert "no comment with id 'nope'" in response.json()["detail"]
    metrics = client.get("/metrics").text
    assert 'path="/v1/feedback/{comment_id}",status="404"' in metrics
    assert "/v1/feedback/nope" not in metrics  # ids stay out of metric labels


def test_feedback_get_needs_a_key(client):
    assert client.get("/v1/feedback/t-1").status_code == 401


def test_feedback_without_keys_configured_is_403_saying_how(tiny_model, tmp_path):
    settings = ServingSettings(
        model_path=tiny_model[0], database_url=f"sqlite:///{tmp_path / 'f.db'}"
    )
    with TestClient(create_app(settings)) as client:
        response = post(client, COMMENTS)

    assert response.status_code == 403
    assert "no API keys" in response.json()["detail"]
    assert "PINGJIA_API_KEYS" in response.json()["detail"]
    assert not (tmp_path / "f.db").exists()  # refused before opening the store


def test_feedback_unreachable_database_is_503_not_a_crash(tiny_model):
    settings = ServingSettings(
        model_path=tiny_model[0],
        database_url="postgresql+psycopg://nobody:pw@127.0.0.1:9/none?connect_timeout=2",
        api_keys=[hash_key(KEY)],
    )
    with TestClient(create_app(settings)) as client:
        response = post(client, COMMENTS)
        classify = client.post("/v1/classify", json={"comments": COMMENTS})

    assert response.status_code == 503
    assert (
        "feedback store is unavailable (OperationalError)" in response.json()["detail"]
    )
    assert "pw" not in response.text
    assert classify.status_code == 200  # the rest of the service is unaffected


def test_settings_refuse_a_plaintext_key_where_a_digest_belongs(monkeypatch):
    monkeypatch.setenv("PINGJIA_API_KEYS", f"{hash_key(KEY)},my-secret-key")

    with pytest.raises(ValueError, match="entry 2 to be a SHA-256 hex digest") as error:
        ServingSettings()

    assert "my-secret-key" not in str(error.value)
