"""Prometheus metrics of the service (``GET /metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class ServiceMetrics:
    """One registry per app, so that tests can build several apps."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pingjia_requests",
            "HTTP requests",
            ["path", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pingjia_request_seconds",
            "Request latency in seconds",
            ["path"],
            buckets=(0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12),
            registry=self.registry,
        )
        self.comments = Counter(
            "pingjia_comments_classified", "Comments classified", registry=self.registry
        )
        self.errors = Counter(
            "pingjia_errors",
            "Requests answered with an error",
            ["kind"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "pingjia_model_batch_size",
            "Comments per model call",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
