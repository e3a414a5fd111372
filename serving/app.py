"""The HTTP API (FastAPI).

``create_app`` builds the app for a settings object; the model is loaded in the
lifespan, so ``/healthz`` answers at once and ``/readyz`` turns ready once the
model is in memory. Nothing a client sends reaches the client as a stack
trace: unexpected errors are logged here and answered with a short 500.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from labels.migrate import MigrationPath
from labels.taxonomy import load_label_set
from model.predict import Model, load_model, predict, set_threads
from serving.batcher import MicroBatcher
from serving.label_versions import map_record, plan_label_sets
from serving.metrics import ServiceMetrics
from serving.schemas import ClassifyRequest, ClassifyResponse
from serving.settings import ServingSettings

logger = logging.getLogger(__name__)


class ServiceState:
    def __init__(self, settings: ServingSettings) -> None:
        self.settings = settings
        self.model: Model | None = None
        self.batcher: MicroBatcher | None = None
        self.metrics = ServiceMetrics()
        self.card: dict[str, Any] = {}
        self.migration: MigrationPath | None = None

    @property
    def label_set_version(self) -> str:
        """The version the service answers in: configured, else the model's."""
        if self.settings.label_set_version:
            return self.settings.label_set_version
        return self.model.config.label_set_version if self.model else "1"


def _load(state: ServiceState, model: Model | None) -> None:
    settings = state.settings
    set_threads(settings.threads or None)
    state.model = model or load_model(settings.model_path, quantize=settings.quantize)
    state.migration = plan_label_sets(
        state.model.config.label_set_version,
        settings.label_set_version,
        str(settings.model_path),
    )
    state.card = _model_card(state)
    logger.info(
        "model %s loaded (label set v%s) from %s",
        state.model.version,
        state.model.config.label_set_version,
        settings.model_path,
    )


def _model_card(state: ServiceState) -> dict[str, Any]:
    import json

    model = state.model
    folder = state.settings.model_path
    facts: dict[str, Any] = {
        "model_version": model.version,
        "kind": model.config.kind,
        "base_encoder": model.config.base_encoder,
        "label_set_version": model.config.label_set_version,
        "served_label_set_version": state.label_set_version,
        "categories": model.config.categories,
        "thresholds": dict(
            zip(model.config.categories, model.calibration.thresholds, strict=True)
        ),
    }
    for name in ("metrics", "provenance"):
        path = folder / f"{name}.json"
        if path.exists():
            data = json.loads(path.read_text("utf-8"))
            data.pop("history", None)
            data.pop("train_config", None)
            facts[name] = data
    return facts


def create_app(
    settings: ServingSettings | None = None, model: Model | None = None
) -> FastAPI:
    """The FastAPI app; pass ``model`` to serve one already loaded (tests)."""
    state = ServiceState(settings or ServingSettings())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        _load(state, model)
        state.batcher = MicroBatcher(
            lambda texts: _predict_batch(state, texts),
            max_batch=state.settings.batch_size,
            wait_ms=state.settings.batch_wait_ms,
        )
        state.batcher.start()
        logger.info(
            "pingjia ready on http://%s:%d (docs at /docs)",
            state.settings.host,
            state.settings.port,
        )
        yield
        await state.batcher.stop()

    app = FastAPI(
        title="pingjia 评价",
        description="Categories and sentiment of Chinese customer comments.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.service = state
    _add_middleware(app, state)
    _add_error_handlers(app, state)
    _add_routes(app, state)
    return app


def _predict_batch(state: ServiceState, texts: list[str]) -> list[dict[str, Any]]:
    state.metrics.batch_size.observe(len(texts))
    records = predict(state.model, texts)
    if state.migration:
        records = [map_record(r, state.migration) for r in records]
    return records


def _add_middleware(app: FastAPI, state: ServiceState) -> None:
    @app.middleware("http")
    async def limit_and_measure(request: Request, call_next):
        started = time.perf_counter()
        path = (
            request.scope.get("route").path
            if request.scope.get("route")
            else (request.url.path if request.url.path in _KNOWN_PATHS else "other")
        )
        length = request.headers.get("content-length")
        limit = state.settings.max_body_bytes
        if length is None and request.method == "POST":
            # A chunked body has no length header: read it to measure it.
            length = str(len(await request.body()))
        if length and length.isdigit() and int(length) > limit:
            response = _error(
                413,
                f"request body of {length} bytes is over the "
                f"limit of {limit} bytes; send fewer comments "
                "per request",
                state,
                "body_too_large",
            )
        else:
            response = await call_next(request)
        state.metrics.requests.labels(path, str(response.status_code)).inc()
        state.metrics.latency.labels(path).observe(time.perf_counter() - started)
        return response


_KNOWN_PATHS = {
    "/v1/classify",
    "/v1/labels",
    "/v1/model",
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/openapi.json",
}


def _error(status: int, detail: Any, state: ServiceState, kind: str) -> JSONResponse:
    state.metrics.errors.labels(kind).inc()
    return JSONResponse({"detail": detail}, status_code=status)


def _add_error_handlers(app: FastAPI, state: ServiceState) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        detail = [
            {
                "loc": list(e.get("loc", ())),
                "msg": e.get("msg", ""),
                "type": e.get("type"),
            }
            for e in error.errors()
        ]
        return _error(422, detail, state, "validation")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        return _error(
            error.status_code, error.detail, state, f"http_{error.status_code}"
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        logger.exception("unexpected error on %s", request.url.path)
        return _error(
            500, "internal error; the server logged the cause", state, "internal"
        )


def _check_limits(body: ClassifyRequest, settings: ServingSettings) -> None:
    if len(body.comments) > settings.max_comments:
        raise HTTPException(
            413,
            f"{len(body.comments)} comments in one request; the limit is "
            f"{settings.max_comments}. Split the request.",
        )
    for index, comment in enumerate(body.comments):
        if not comment.text.strip():
            raise HTTPException(
                422,
                f"comments[{index}].text is empty or blank; send the comment's text",
            )
        if len(comment.text) > settings.max_chars:
            raise HTTPException(
                422,
                f"comments[{index}].text has {len(comment.text)} characters; "
                f"the limit is {settings.max_chars}",
            )


def _add_routes(app: FastAPI, state: ServiceState) -> None:
    @app.post("/v1/classify", response_model=ClassifyResponse)
    async def classify(body: ClassifyRequest) -> dict[str, Any]:
        """Sentiment and categories of each comment, in the order sent."""
        if state.model is None or state.batcher is None:
            raise HTTPException(503, "the model is still loading; retry shortly")
        _check_limits(body, state.settings)

        records = await state.batcher.submit([c.text for c in body.comments])
        state.metrics.comments.inc(len(records))
        results = [
            {**c.model_dump(), **r} for c, r in zip(body.comments, records, strict=True)
        ]
        migrated = state.model.config.label_set_version
        return {
            "model_version": state.model.version,
            "label_set_version": state.label_set_version,
            "migrated_from": migrated if state.migration else None,
            "results": results,
        }

    @app.get("/v1/labels")
    async def labels() -> dict[str, Any]:
        """The label set in force: keys, Chinese and English names, definitions."""
        return load_label_set(state.label_set_version).to_dict()

    @app.get("/v1/model")
    async def model_card() -> dict[str, Any]:
        """What the loaded model is, what made it and how well it tested."""
        if state.model is None:
            raise HTTPException(503, "the model is still loading; retry shortly")
        return state.card

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ready = state.model is not None
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )
