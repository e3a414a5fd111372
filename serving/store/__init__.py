"""The feedback store: comments, their metadata and labels, in a database.

SQLite file by default (``$PINGJIA_HOME/feedback.db``), PostgreSQL by URL;
the schema is migrated with Alembic on open. Reports read it through
``FeedbackStore(url).records(since, until)``.
"""

from serving.store.store import (
    FeedbackStore,
    IngestResult,
    Outcome,
    default_database_url,
    safe_url,
)

__all__ = [
    "FeedbackStore",
    "IngestResult",
    "Outcome",
    "default_database_url",
    "safe_url",
]
