"""Stores for the tests: a SQLite file always, PostgreSQL when a URL is given.

``PINGJIA_TEST_POSTGRES_URL`` (set by ``.ci/run``) names a database the tests
may use; each test gets its own schema there (``pingjia_test_<random>``, put
first on the search path) and drops it afterwards, so nothing else in that
database is touched.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("PINGJIA_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "PINGJIA_TEST_POSTGRES_URL is not set, so the PostgreSQL variant is skipped; "
    "`bash .ci/run` starts a throwaway PostgreSQL and sets it."
)
DATABASES = [
    "sqlite",
    pytest.param(
        "postgresql", marks=pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
    ),
]


def labels(model: str = "m1", sentiment: str = "negative", **extra) -> dict:
    """Labels in classify-output shape, as a model would give them."""
    return {
        "sentiment": {"label": sentiment, "score": 0.91},
        "categories": [
            {
                "label": "speed",
                "score": 0.82,
                "sentiment": sentiment,
                "sentiment_score": 0.77,
            }
        ],
        "review": False,
        "truncated": False,
        "model_version": model,
        "label_set_version": "1",
        **extra,
    }


def database_url(kind: str, tmp_path) -> Iterator[str]:
    """A fresh, empty database of ``kind``; removed again after the test."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'feedback.db'}"
        return

    schema = f"pingjia_test_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
