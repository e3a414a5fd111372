"""Schema migrations of the feedback store, run from code (no alembic.ini).

The migration scripts ship inside the package (``migrations/``), so an
installed pingjia can bring any database it is pointed at up to date:
``FeedbackStore`` does it on open, ``pingjia store upgrade`` on demand.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

logger = logging.getLogger(__name__)
# Alembic says "Context impl SQLiteImpl." at INFO on every open; our own INFO
# line below says what changed, which is all a user needs.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, pointing at the packaged scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the package ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to ``revision``; returns the revision it is at after."""
    before = current_revision(engine)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)

    after = current_revision(engine)
    if before != after:
        logger.info("feedback store schema upgraded from %s to %s", before, after)
    return after
