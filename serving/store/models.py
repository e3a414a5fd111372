"""Tables of the feedback store: comments and the labelings models gave them.

A comment is stored once, under its id. Every (model version, label-set
version) that labelled it leaves one row in ``labelings``: labelling again with
a new model adds a row (history of which model said what), the same model and
version again rewrites its row. Exactly one row per labelled comment is
``current``: the one written last.

The schema is kept to types both SQLite and PostgreSQL have; the Alembic
migrations in ``migrations/versions`` create it, and a test checks that they
match these classes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Named constraints, so that migrations can refer to them on both databases.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
ID_LENGTH = 200
FIELD_LENGTH = 200
VERSION_LENGTH = 100


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """An aware datetime, stored in UTC, read back aware.

    SQLite has no time zones: it would drop the offset and hand back naive
    values. Storing UTC and tagging it on the way out gives the same answer on
    both databases.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(
                f"expected an aware datetime (with a UTC offset), got {value!r}; "
                "attach a time zone before storing it"
            )
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[str | None] = mapped_column(String(FIELD_LENGTH), index=True)
    team: Mapped[str | None] = mapped_column(String(FIELD_LENGTH), index=True)
    channel: Mapped[str | None] = mapped_column(String(FIELD_LENGTH))
    process_step: Mapped[str | None] = mapped_column(String(FIELD_LENGTH))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    # Every other field of the input record, as sent.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    labelings: Mapped[list[Labeling]] = relationship(
        back_populates="comment", cascade="all, delete-orphan"
    )


class Labeling(Base):
    __tablename__ = "labelings"
    __table_args__ = (
        UniqueConstraint("comment_id", "model_version", "label_set_version"),
        Index("ix_labelings_current", "comment_id", "current"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    comment_id: Mapped[str] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE")
    )
    model_version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    label_set_version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    sentiment: Mapped[str] = mapped_column(String(20))
    sentiment_score: Mapped[float] = mapped_column(Float)
    # [{"label", "score", "sentiment", "sentiment_score"}, ...] as classify gives
    categories: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # categories a migrated older model could not decide (serving/label_versions)
    undecided: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    review: Mapped[bool] = mapped_column(Boolean)
    truncated: Mapped[bool | None] = mapped_column(Boolean)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    comment: Mapped[Comment] = relationship(back_populates="labelings")
