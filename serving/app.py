"""The HTTP API (FastAPI).

``create_app`` builds the app for a settings object; the model is loaded in the
lifespan, so ``/healthz`` answers at once and ``/readyz`` turns ready once the
model is in memory. Nothing a client sends reaches the client as a stack
trace: unexpected errors are logged here and answered with a short 500.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from labels.migrate import MigrationPath
from labels.taxonomy import load_label_set
from model.predict import Model, load_model, predict, set_threads
from serving.batcher import MicroBatcher
from serving.label_versions import map_record, plan_label_sets
from serving.metrics import ServiceMetrics
from serving.records import text_problem, too_deep, unencodable
from serving.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    FeedbackRequest,
    FeedbackResponse,
)
from serving.settings import ServingSettings
from serving.store import FeedbackStore, safe_url
from serving.store.keys import key_matches, read_key_file
from serving.store.store import StoreError

if TYPE_CHECKING:
    from serving.reports.data import Period

logger = logging.getLogger(__name__)


class ServiceState:
    def __init__(self, settings: ServingSettings) -> None:
        self.settings = settings
        self.model: Model | None = None
        self.batcher: MicroBatcher | None = None
        self.metrics = ServiceMetrics()
        self.card: dict[str, Any] = {}
        self.migration: MigrationPath | None = None
        self.key_digests = list(settings.api_keys)
        if settings.api_key_file:
            self.key_digests += read_key_file(settings.api_key_file)
        self.store: FeedbackStore | None = None
        self._store_lock = threading.Lock()
        # Every torch call (the load too) runs in this one thread. Torch's
        # OpenMP keeps a team of threads per calling thread, and two teams on
        # 2 cores contend: measured here, a model that had run once in the
        # main thread ran 106-118 comments/s at batch 128 in another thread
        # against 135-141 in its own, and one comment took ~30 ms, not ~15.
        self.model_thread = ThreadPoolExecutor(1, thread_name_prefix="pingjia-model")

    def feedback_store(self) -> FeedbackStore:
        """The store, opened (and migrated) on first use rather than at start-up,
        so that a service used only to classify never touches a database.
        Blocking: call it from a worker thread."""
        with self._store_lock:
            if self.store is None:
                self.store = FeedbackStore(
                    self.settings.database_url, timezone=self.settings.store_timezone
                )
            return self.store

    @property
    def label_set_version(self) -> str:
        """The version the service answers in: configured, else the model's."""
        if self.settings.label_set_version:
            return self.settings.label_set_version
        return self.model.config.label_set_version if self.model else "1"


def _load(state: ServiceState, model: Model | None) -> None:
    settings = state.settings
    set_threads(settings.threads or None)
    state.model = model or load_model(settings.model_path, precision=settings.precision)
    state.migration = plan_label_sets(
        state.model.config.label_set_version,
        settings.label_set_version,
        str(settings.model_path),
    )
    state.card = _model_card(state)
    logger.info(
        "model %s loaded (label set v%s, encoder in %s) from %s",
        state.model.version,
        state.model.config.label_set_version,
        getattr(state.model, "precision", "-"),
        settings.model_path,
    )


def _encoder_layers(model: Model) -> int | None:
    module = getattr(model, "module", None)
    return None if module is None else module.encoder.config.num_hidden_layers


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
        "pooling": model.config.pooling,
        "encoder_layers": _encoder_layers(model),  # None: TF-IDF
        "lexical_blend": {
            "presence": model.calibration.lexical_presence,
            "sentiment": model.calibration.lexical_sentiment,
        },
        "precision": getattr(model, "precision", None),  # None: TF-IDF
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
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(state.model_thread, _load, state, model)
        state.batcher = MicroBatcher(
            lambda texts: _predict_batch(state, texts),
            max_batch=state.settings.batch_size,
            wait_ms=state.settings.batch_wait_ms,
            executor=state.model_thread,
        )
        state.batcher.start()
        logger.info(
            "pingjia ready on http://%s:%d (docs at /docs)",
            state.settings.host,
            state.settings.port,
        )
        yield
        await state.batcher.stop()
        state.model_thread.shutdown(wait=False)
        if state.store is not None:
            state.store.close()

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


async def _answer(request: Request, call_next, state: ServiceState):
    """The route's response; an unexpected error becomes a logged 500 here, so
    that it is counted like any answer and its traceback logged once (left to
    Starlette, it passes this middleware as an exception and is logged twice)."""
    try:
        return await call_next(request)
    except Exception:
        return _internal_error(request, state)


def _internal_error(request: Request, state: ServiceState) -> JSONResponse:
    """Log the exception being handled; answer a 500 that leaks nothing."""
    logger.exception("unexpected error on %s", request.url.path)
    return _error(500, "internal error; the server logged the cause", state, "internal")


def _add_middleware(app: FastAPI, state: ServiceState) -> None:
    @app.middleware("http")
    async def limit_and_measure(request: Request, call_next):
        started = time.perf_counter()
        path = (
            request.scope.get("route").path
            if request.scope.get("route")
            else _path_label(request.url.path)
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
                f"limit of {limit} bytes; send fewer or shorter comments "
                "per request",
                state,
                "body_too_large",
            )
        else:
            response = await _answer(request, call_next, state)
        state.metrics.requests.labels(path, str(response.status_code)).inc()
        state.metrics.latency.labels(path).observe(time.perf_counter() - started)
        return response


_KNOWN_PATHS = {
    "/v1/classify",
    "/v1/labels",
    "/v1/model",
    "/v1/feedback",
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/openapi.json",
    "/v1/reports/attribution",
}


def _path_label(path: str) -> str:
    """The route a path belongs to, so metric labels stay few (no ids in them)."""
    if path in _KNOWN_PATHS:
        return path
    if path.startswith("/v1/feedback/"):
        return "/v1/feedback/{comment_id}"
    return "other"


def _error(
    status: int,
    detail: Any,
    state: ServiceState,
    kind: str,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    state.metrics.errors.labels(kind).inc()
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


# How to mend each kind of validation error pydantic reports, for its "fix".
_JSON_BODY = 'send a JSON object, e.g. {"comments": [{"text": "送餐很快"}]}'
_FIXES = {
    "json_invalid": "the body is not valid JSON; " + _JSON_BODY,
    "model_attributes_type": _JSON_BODY + ", with content-type: application/json",
    "dict_type": _JSON_BODY + ", with content-type: application/json",
    "missing": "add the field",
    "string_type": "send it as a JSON string",
    "too_short": "send at least one comment",
    "list_type": "send a JSON list",
    "string_too_long": "shorten it to the length msg gives (an id: a hash of it)",
    "string_unicode": "remove the lone surrogate (an unpaired \\ud800-\\udfff "
    "escape) from the value or the field name",
}
# The same kinds inside the list: the fix is for one comment, not the body.
_COMMENT_FIXES = {
    "model_attributes_type": 'send each comment as a JSON object, e.g. {"text": '
    '"送餐很快"}',
    "dict_type": 'send each comment as a JSON object, e.g. {"text": "送餐很快"}',
}


def _fix(e: dict) -> dict[str, str]:
    kind, loc = e.get("type"), tuple(e.get("loc", ()))
    in_comment = loc[:2] == ("body", "comments") and len(loc) > 2
    fix = (_COMMENT_FIXES.get(kind) if in_comment else None) or _FIXES.get(kind)
    return {"fix": fix} if fix else {}


# FastAPI's words for a body it could not decode (not UTF-8, say)
_UNREADABLE_BODY = "There was an error parsing the body"


def _unreadable(error: Exception) -> str:
    """Why FastAPI could not parse a body: it keeps the cause on the error."""
    cause = error.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return f"bytes that are not UTF-8 ({cause.reason} at byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "values nested too deeply"
    if isinstance(cause, ValueError):  # e.g. an integer past 4,300 digits
        return f"a value JSON parsing refuses: {str(cause).split(';')[0]}"
    return "bytes that are not UTF-8, or values nested too deeply"


def _add_error_handlers(app: FastAPI, state: ServiceState) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        detail = [
            {
                "loc": list(e.get("loc", ())),
                "msg": e.get("msg", ""),
                "type": e.get("type"),
                **_fix(e),
            }
            for e in error.errors()
        ]
        return _error(422, detail, state, "validation")

    # Starlette's class: FastAPI raises it itself (a 404, a body it cannot
    # parse), and ours is a subclass of it
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        detail = error.detail
        if error.status_code == 400 and detail == _UNREADABLE_BODY:
            detail = (
                f"the body could not be read as JSON ({_unreadable(error)}); send "
                "a JSON object encoded as UTF-8, with content-type: "
                "application/json"
            )
        return _error(
            error.status_code,
            detail,
            state,
            f"http_{error.status_code}",
            headers=error.headers,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        # what the middleware cannot catch: an error in the middleware itself
        return _internal_error(request, state)


def _check_limits(
    body: ClassifyRequest | FeedbackRequest, settings: ServingSettings
) -> None:
    if len(body.comments) > settings.max_comments:
        raise HTTPException(
            413,
            f"{len(body.comments)} comments in one request; the limit is "
            f"{settings.max_comments}. Split the request.",
        )
    for index, comment in enumerate(body.comments):
        problem = text_problem(comment.text) or next(
            (
                found
                for key, value in comment.model_dump().items()
                if (found := unencodable(value, key))
            ),
            None,
        )
        if problem:
            raise HTTPException(
                422,
                f"comments[{index}]: {problem}; send the comment's text as it was "
                "written",
            )
        deep = next(
            (
                found
                for key, value in comment.model_dump().items()
                if (found := too_deep(value, key))
            ),
            None,
        )
        if deep:
            raise HTTPException(422, f"comments[{index}]: {deep}")
        if len(comment.text) > settings.max_chars:
            raise HTTPException(
                422,
                f"comments[{index}].text has {len(comment.text)} characters; "
                f"the limit is {settings.max_chars}: send it in parts, or raise "
                "PINGJIA_MAX_CHARS on the server",
            )


def _add_routes(app: FastAPI, state: ServiceState) -> None:
    _add_classify_routes(app, state)
    _add_feedback_routes(app, state)
    _add_report_routes(app, state)


def _add_classify_routes(app: FastAPI, state: ServiceState) -> None:
    @app.post("/v1/classify", response_model=ClassifyResponse)
    async def classify(body: ClassifyRequest) -> dict[str, Any]:
        """Sentiment and categories of each comment, in the order sent."""
        if state.model is None or state.batcher is None:
            raise HTTPException(503, "the model is still loading; retry shortly")
        _check_limits(body, state.settings)

        records = await state.batcher.submit([c.text for c in body.comments])
        state.metrics.comments.inc(len(records))
        # A client field named like an output (undecided, sentiment, ...) is
        # replaced by the service's own, which always carries every output key.
        results = [
            {**c.model_dump(), "undecided": [], **r}
            for c, r in zip(body.comments, records, strict=True)
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


_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False)
_BEARER = HTTPBearer(auto_error=False)
_NO_KEYS = (
    "the feedback store and report routes are disabled: the server has no API keys "
    "configured; make a key and its digest with `pingjia store new-key` (or the "
    "digest of a key you have with `pingjia store hash-key`), set "
    "PINGJIA_API_KEYS to the digests (or PINGJIA_API_KEY_FILE to a file of keys) "
    "and restart the server"
)


def _key_checker(state: ServiceState) -> Callable[..., None]:
    def require_key(
        api_key: Annotated[str | None, Depends(_API_KEY)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> None:
        if not state.key_digests:
            # 403, not 503: the server works as configured, and no retry helps
            raise HTTPException(403, _NO_KEYS)

        presented = api_key or (bearer.credentials if bearer else None)
        challenge = {"WWW-Authenticate": "Bearer"}
        if not presented:
            raise HTTPException(
                401,
                "missing API key: expected an X-API-Key header or "
                "'Authorization: Bearer KEY', got neither; ask the operator for a key",
                headers=challenge,
            )
        if not key_matches(presented, state.key_digests):
            raise HTTPException(
                401,
                "wrong API key: the key sent matches none of the server's keys; "
                "check it for typos or ask the operator for a valid one",
                headers=challenge,
            )

    return require_key


async def _in_store(state: ServiceState, call: Callable[[FeedbackStore], Any]) -> Any:
    """Run ``call(store)`` in a worker thread; a database failure is a 503."""

    def run() -> Any:
        return call(state.feedback_store())

    try:
        return await run_in_threadpool(run)
    except (SQLAlchemyError, OSError, StoreError) as error:
        logger.exception(
            "feedback store at %s failed", safe_url(state.settings.database_url)
        )
        # a store that could not be opened: name the database's own error
        cause = error.__context__ if isinstance(error, StoreError) else error
        raise HTTPException(
            503,
            f"the feedback store is unavailable ({type(cause or error).__name__}); "
            "the server logged the cause; retry later or check "
            "PINGJIA_DATABASE_URL",
        ) from error


def _add_feedback_routes(app: FastAPI, state: ServiceState) -> None:
    require_key = _key_checker(state)

    @app.post(
        "/v1/feedback",
        response_model=FeedbackResponse,
        dependencies=[Depends(require_key)],
    )
    async def feedback(body: FeedbackRequest) -> dict[str, Any]:
        """Classify the comments and store them with their labels (API key needed).

        Idempotent on the comment id (computed from the text when not sent):
        sending a comment again updates it; a newer model's labels become
        current and the older ones stay in its history.
        """
        if state.model is None or state.batcher is None:
            raise HTTPException(503, "the model is still loading; retry shortly")
        _check_limits(body, state.settings)

        labels = await state.batcher.submit([c.text for c in body.comments])
        state.metrics.comments.inc(len(labels))
        versions = {
            "model_version": state.model.version,
            "label_set_version": state.label_set_version,
        }
        records = [
            {**c.model_dump(), **found, **versions}
            for c, found in zip(body.comments, labels, strict=True)
        ]
        result = await _in_store(state, lambda store: store.ingest(records))
        if result.errors:  # the request model checked the same fields already
            raise HTTPException(
                422, [f"comments[{e.row - 1}]: {e.reason}" for e in result.errors]
            )
        return {
            **versions,
            "results": [
                {
                    "id": outcome.id,
                    "status": outcome.comment,
                    "labels": outcome.labels,
                    **{
                        k: found[k]
                        for k in ("sentiment", "categories", "review", "truncated")
                    },
                }
                for outcome, found in zip(result.outcomes, labels, strict=True)
            ],
        }

    @app.get("/v1/feedback/{comment_id}", dependencies=[Depends(require_key)])
    async def feedback_comment(comment_id: str) -> dict[str, Any]:
        """A stored comment with its current labels and every labeling before."""
        found = await _in_store(state, lambda store: store.get(comment_id))
        if found is None:
            raise HTTPException(
                404,
                f"no comment with id {comment_id!r} in the feedback store; "
                "POST it to /v1/feedback first",
            )
        return found


def _add_report_routes(app: FastAPI, state: ServiceState) -> None:
    # Reads need the key too: per-agent rates are personnel data.
    require_key = _key_checker(state)

    @app.get("/v1/reports/attribution", dependencies=[Depends(require_key)])
    async def attribution(
        category: Annotated[str, Query(description="category key, e.g. speed")],
        period: Annotated[
            str | None, Query(description="START:END, ISO dates; default: last 4 weeks")
        ] = None,
        baseline: Annotated[
            str | None, Query(description="START:END; default: the period before")
        ] = None,
        by: Annotated[str, Query(description="agent_id or team")] = "agent_id",
        polarity: Annotated[str, Query(description="negative, positive, neutral")] = (
            "negative"
        ),
        event: Annotated[
            list[str] | None,
            Query(description="DATE:DESCRIPTION of a change the team made, repeatable"),
        ] = None,
        alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
        window: Annotated[int, Query(ge=0, le=366)] = 7,
    ) -> dict[str, Any]:
        """``pingjia report attribution`` over the feedback store's records:
        is a rise in negative feedback individual (agents) or systemic?

        Comments stored without ``created_at`` are left out: a report counts
        by day. Send the time with each comment to have it counted."""
        # Imported here: pandas and statsmodels stay out of the server's
        # start-up unless someone asks for a report.
        from serving.reports.attribution import attribution_report, check_events
        from serving.reports.data import ReportInputError, parse_period

        try:
            wanted = parse_period(period) if period else None
            before = parse_period(baseline) if baseline else None
            events = check_events(_events_of(event or []), "event")
        except ReportInputError as error:
            raise HTTPException(422, str(error)) from None

        def report(store: FeedbackStore) -> dict[str, Any]:
            # A lower bound leaves out comments stored without created_at:
            # they have no place on the time axis, and an API client cannot
            # take them out of the store's reports itself.
            records = store.records(since=_EARLIEST, until=_until(wanted))
            return attribution_report(
                list(records),
                category,
                period=wanted,
                baseline=before,
                by=by,
                polarity=polarity,
                events=events,
                alpha=alpha,
                event_window_days=window,
            )

        try:
            return await _in_store(state, report)
        except ReportInputError as error:
            raise HTTPException(422, str(error)) from None


def _events_of(values: list[str]) -> list[dict[str, str]]:
    """``"2026-11-02:new routing"`` -> ``{"date": ..., "description": ...}``."""
    return [
        dict(zip(("date", "description"), value.split(":", 1), strict=False))
        for value in values
    ]


_EARLIEST = datetime(1900, 1, 1)


def _until(period: Period | None) -> datetime | None:
    """Read up to the period's end (the timeline looks back from there); with no
    period, everything, since only the data can say when its last weeks are."""
    if period is None:
        return None
    end = period.end + timedelta(days=1)
    return datetime(end.year, end.month, end.day)
