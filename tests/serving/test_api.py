"""The HTTP API in-process, with the tiny model: shapes, limits, errors."""

import asyncio
import json

import httpx
import pytest
from fastapi.testclient import TestClient

from model.predict import load_model, resolve_precision
from serving.app import create_app
from serving.settings import ServingSettings


@pytest.fixture(scope="module")
def client(tiny_model):
    folder, _ = tiny_model
    settings = ServingSettings(
        model_path=folder, max_comments=5, max_chars=50, max_body_bytes=4096
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_classify_returns_results_in_order_with_versions(client, tiny_model):
    comments = [
        {"id": "a", "text": "送得太慢了"},
        {"text": "很好吃😋！！", "agent": "李四"},
    ]

    response = client.post("/v1/classify", json={"comments": comments})

    body = response.json()
    assert response.status_code == 200
    assert body["model_version"] == load_model(tiny_model[0]).version
    assert body["label_set_version"] == "1"
    assert [r["text"] for r in body["results"]] == ["送得太慢了", "很好吃😋！！"]
    assert body["results"][0]["id"] == "a" and body["results"][1]["agent"] == "李四"
    assert body["results"][0]["sentiment"]["label"] in (
        "positive",
        "negative",
        "neutral",
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "comments"),  # missing field
        ({"comments": "送得太慢了"}, "comments"),  # wrong type
        ({"comments": []}, "comments"),  # empty list
        ({"comments": [{"id": "a"}]}, "text"),  # missing text
        ({"comments": [{"text": 5}]}, "text"),  # wrong type of text
        ({"comments": [{"text": None}]}, "text"),
        ({"comments": [{"text": "好", "id": "x" * 201}]}, "id"),  # too long
    ],
)
def test_classify_invalid_body_is_422_naming_the_field_and_the_fix(
    client, payload, field
):
    response = client.post("/v1/classify", json=payload)

    assert response.status_code == 422
    assert field in str(response.json()["detail"])
    assert all(e.get("fix") for e in response.json()["detail"])


@pytest.mark.parametrize(
    ("content", "content_type", "status", "says"),
    [
        ('{"comments": [{"text": "好"}]}', "text/plain", 422, "application/json"),
        ("comments=好", "application/x-www-form-urlencoded", 422, "application/json"),
        ('{"comments": [', "application/json", 422, "not valid JSON"),
        ('{"comments": [{"text": "太慢"}]}'.encode("gbk"), "application/json", 400,
         "JSON (bytes that are not UTF-8 (invalid"),
        ('{"comments": [{"text": "好", "x": ' + "[" * 1500 + "]" * 1500 + "}]}",
         "application/json", 400, "JSON (values nested too deeply)"),
    ],
)  # fmt: skip
def test_a_body_that_is_not_json_says_how_to_send_it(
    client, content, content_type, status, says
):
    response = client.post(
        "/v1/classify", content=content, headers={"content-type": content_type}
    )

    assert response.status_code == status, response.text
    assert says in str(response.json()["detail"])


@pytest.mark.parametrize(
    ("comment", "fix"),
    [
        ('"好吃"', 'send each comment as a JSON object, e.g. {"text": "送餐很快"}'),
        ('{"text": "好", "id": "\\ud800"}', "remove the lone surrogate"),
        ('{"text": "好", "\\ud800": 1}', "remove the lone surrogate"),
    ],
)
def test_a_bad_comment_gets_a_fix_for_that_comment(client, comment, fix):
    body = '{"comments": [' + comment + "]}"
    response = client.post(
        "/v1/classify", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["fix"].startswith(fix)


def test_a_body_json_parsing_refuses_says_why():
    # a 5,000-digit number: over the test client's body limit, so the cause
    # FastAPI keeps is given here as json.loads raises it
    from serving.app import _unreadable

    try:
        json.loads('{"n": ' + "9" * 5000 + "}")
    except ValueError as cause:
        error = RuntimeError("There was an error parsing the body")
        error.__cause__ = cause

    assert _unreadable(error).startswith("a value JSON parsing refuses: Exceeds")


def test_classify_blank_text_is_422_naming_the_comment(client):
    response = client.post(
        "/v1/classify", json={"comments": [{"text": "好"}, {"text": " \u3000 "}]}
    )

    assert response.status_code == 422
    assert response.json()["detail"].startswith("comments[1]: empty 'text'")


@pytest.mark.parametrize(
    ("comment", "says"),
    [
        ('{"text": "好吃\\ud800"}', "'text' holds a lone surrogate"),
        ('{"text": "好吃", "shop": {"name": "\\udfff"}}', "'shop.name' holds"),
        ('{"text": "\\u200b\\u200b\\ufeff"}', "invisible marks only"),
        ('{"text": "\\u0000"}', "empty 'text'"),
        ('{"text": "\\u0000\\u0001\\u0002"}', "empty 'text'"),
    ],
)
def test_classify_text_that_is_no_text_is_422_and_the_server_goes_on(
    client, comment, says
):
    body = '{"comments": [{"text": "好"}, ' + comment + "]}"
    response = client.post(
        "/v1/classify", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert says in response.json()["detail"]
    assert response.json()["detail"].startswith("comments[1]")
    assert client.post("/v1/classify", json={"comments": [{"text": "好"}]}).is_success


def test_classify_too_many_comments_is_413_with_the_limit(client):
    response = client.post("/v1/classify", json={"comments": [{"text": "好"}] * 6})

    assert response.status_code == 413
    assert "6 comments" in response.json()["detail"]
    assert "limit is 5" in response.json()["detail"]


def test_classify_too_long_comment_is_422_with_the_limit(client):
    response = client.post("/v1/classify", json={"comments": [{"text": "好" * 51}]})

    assert response.status_code == 422
    assert "51 characters; the limit is 50" in response.json()["detail"]
    assert "send it in parts" in response.json()["detail"]


def test_body_over_the_limit_is_413(client):
    response = client.post(
        "/v1/classify",
        content=b'{"comments": [' + b" " * 5000,
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 413
    assert "limit of 4096 bytes" in response.json()["detail"]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00", b"[]", b"null"])
def test_malformed_json_is_a_client_error_not_500(client, body):
    response = client.post(
        "/v1/classify", content=body, headers={"content-type": "application/json"}
    )

    # 400 when the bytes are not JSON text at all, 422 when the JSON is wrong
    assert response.status_code in (400, 422)
    assert "Traceback" not in response.text


def test_labels_model_health_ready_and_metrics(client):
    labels = client.get("/v1/labels").json()
    model = client.get("/v1/model").json()
    client.post("/v1/classify", json={"comments": [{"text": "太贵了"}]})
    metrics = client.get("/metrics").text

    assert labels["version"] == "1"
    assert labels["categories"][0]["zh"] == "服务态度"
    assert model["label_set_version"] == "1" and "thresholds" in model
    assert model["pooling"] == "category_attention"
    assert model["encoder_layers"] == 2  # the tiny encoder's depth
    assert model["precision"] == resolve_precision("auto")  # the settings' default
    assert set(model["lexical_blend"]) == {"presence", "sentiment"}
    assert client.get("/healthz").json() == {"status": "alive"}
    assert client.get("/readyz").status_code == 200
    assert "pingjia_comments_classified_total" in metrics
    assert 'pingjia_requests_total{path="/v1/classify",status="200"}' in metrics


def test_concurrent_requests_share_model_calls(tiny_model):
    folder, _ = tiny_model
    settings = ServingSettings(model_path=folder, batch_wait_ms=50)
    app = create_app(settings)

    async def run() -> int:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test") as http,
        ):
            replies = await asyncio.gather(
                *[
                    http.post(
                        "/v1/classify", json={"comments": [{"text": f"送得太慢了{i}"}]}
                    )
                    for i in range(16)
                ]
            )
            assert all(r.status_code == 200 for r in replies)
            return app.state.service.batcher.batches

    batches = asyncio.run(run())

    assert batches < 16  # 16 single-comment requests, fewer model calls


def test_the_model_loads_and_predicts_in_one_thread_of_its_own(tiny_model, monkeypatch):
    """Torch keeps an OpenMP thread team per calling thread; two teams on two
    cores slowed the model by a fifth (serving.app), so every torch call of
    the service, the load included, must come from one thread."""
    import threading

    import serving.app as app_module

    threads: list[tuple[str, int]] = []
    load, predict = app_module.load_model, app_module.predict

    def recording_load(*args, **kwargs):
        threads.append(("load", threading.get_ident()))
        return load(*args, **kwargs)

    def recording_predict(*args, **kwargs):
        threads.append(("predict", threading.get_ident()))
        return predict(*args, **kwargs)

    monkeypatch.setattr(app_module, "load_model", recording_load)
    monkeypatch.setattr(app_module, "predict", recording_predict)
    settings = ServingSettings(model_path=tiny_model[0])
    with TestClient(create_app(settings)) as client:
        for text in ("送得太慢了", "很好吃", "客服态度差"):
            body = {"comments": [{"text": text}]}
            assert client.post("/v1/classify", json=body).status_code == 200

    assert [kind for kind, _ in threads] == ["load"] + ["predict"] * 3
    assert len({ident for _, ident in threads}) == 1
    assert threads[0][1] != threading.get_ident()  # not the caller's thread


@pytest.mark.parametrize("value", [7, "x", None, [1], ["speed"], [{"label": "speed"}]])
def test_a_client_field_named_undecided_is_replaced_by_the_service_s(client, value):
    comments = [{"text": "好吃", "undecided": value, "shop": "a"}]

    response = client.post("/v1/classify", json={"comments": comments})

    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["undecided"] == [] and result["shop"] == "a"


def test_an_unexpected_error_is_a_500_counted_and_logged_once(
    tiny_model, monkeypatch, caplog
):
    import serving.app as app_module

    def broken(*args, **kwargs):
        raise RuntimeError("model broke")

    settings = ServingSettings(model_path=tiny_model[0])
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        monkeypatch.setattr(app_module, "predict", broken)
        response = client.post("/v1/classify", json={"comments": [{"text": "好"}]})
        monkeypatch.undo()
        metrics = client.get("/metrics").text
        after = client.post("/v1/classify", json={"comments": [{"text": "好"}]})

    assert response.status_code == 500
    assert "Traceback" not in response.text and "model broke" not in response.text
    assert 'pingjia_requests_total{path="/v1/classify",status="500"} 1.0' in metrics
    assert 'pingjia_errors_total{kind="internal"} 1.0' in metrics
    logged = [r for r in caplog.records if r.name == "serving.app" and r.exc_info]
    assert len(logged) == 1  # the batcher's retry one by one logs apart
    assert after.status_code == 200  # the server goes on


@pytest.mark.parametrize("depth", [33, 300])
def test_an_echoed_field_nested_too_deeply_is_422_before_the_model_runs(client, depth):
    comment = '{"text": "好吃", "extra": ' + "[" * depth + "]" * depth + "}"
    body = '{"comments": [{"text": "好"}, ' + comment + "]}"

    response = client.post(
        "/v1/classify", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("comments[1]: 'extra' nests") and "32 levels" in detail


def test_an_echoed_field_32_levels_deep_comes_back(client):
    extra = [[[[1]]]]
    for _ in range(28):
        extra = [extra]
    comments = [{"text": "好吃", "extra": extra}]

    response = client.post("/v1/classify", json={"comments": comments})

    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["extra"] == extra
