"""``FeedbackStore``: comments and their labels in SQLite or PostgreSQL.

>>> store = FeedbackStore("sqlite:///feedback.db")      # schema upgraded on open
>>> result = store.ingest([{"id": "c1", "text": "送得太慢了", "rating": 2}])
>>> store.add_labels("c1", labelled_record)             # a classify output record
>>> for record in store.records(since=monday, until=next_monday): ...

Writes are idempotent on the comment id: the same record twice leaves one row.
Labels are kept per (model version, label-set version): a new model adds a row
and becomes current, the old one stays as history; the same model again
rewrites its own row.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import and_, create_engine, event, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError
from sqlalchemy.orm import Session

from labels.ids import comment_id
from model.encoder import pingjia_home
from serving.records import RowError
from serving.store.migrate import upgrade
from serving.store.models import Comment, Labeling, utcnow
from serving.store.schema import (
    META_FIELDS,
    REQUIRED_LABEL_FIELDS,
    FeedbackRecord,
    LabelsIn,
    carries_labels,
    clean_row,
    describe,
)

logger = logging.getLogger(__name__)

ID_SOURCE = "feedback"  # comment_id("feedback", text) for records without an id
CHUNK = 500  # rows per transaction: bounded memory, and an IN (...) both take


def default_database_url() -> str:
    """A SQLite file beside the models: ``$PINGJIA_HOME/feedback.db``."""
    return f"sqlite:///{pingjia_home() / 'feedback.db'}"


def safe_url(url: str) -> str:
    """The URL with its password masked, for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class Outcome:
    """What one write did: to the comment, and to its labels (None: none sent)."""

    id: str
    comment: str  # new | updated | unchanged
    labels: str | None = None  # new | relabelled | updated | unchanged


@dataclass
class IngestResult:
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("new", "updated", "unchanged"), 0)
        counts |= {"labelled": 0, "relabelled": 0, "errors": len(self.errors)}
        for outcome in self.outcomes:
            counts[outcome.comment] += 1
            if outcome.labels in ("new", "updated"):
                counts["labelled"] += 1
            elif outcome.labels == "relabelled":
                counts["relabelled"] += 1
        return counts

    def __iadd__(self, other: IngestResult) -> IngestResult:
        self.outcomes += other.outcomes
        self.errors += other.errors
        return self


@dataclass
class _Row:
    """A checked input row: comment fields, labels (if any), its row number."""

    number: int
    comment: dict[str, Any]
    labels: LabelsIn | None


class FeedbackStore:
    """Comments and labels in a database given by a SQLAlchemy URL.

    ``url``: e.g. ``sqlite:///path/feedback.db`` or
    ``postgresql+psycopg://user:pw@127.0.0.1:5432/db``; None for
    :func:`default_database_url`. ``timezone``: the zone of ``created_at``
    values sent without a UTC offset (and of naive ``since``/``until``).
    """

    def __init__(
        self, url: str | None = None, timezone: str = "UTC", migrate: bool = True
    ) -> None:
        self.url = url or default_database_url()
        self.timezone: tzinfo = ZoneInfo(timezone)
        try:
            self.engine = _engine(self.url)
            if migrate:
                upgrade(self.engine)
        except (ArgumentError, ModuleNotFoundError, NoSuchModuleError) as error:
            masked = re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", self.url)
            raise StoreError(
                f"expected a store URL such as sqlite:///path/feedback.db or "
                f"postgresql+psycopg://user:pw@host:5432/db, got {masked!r} "
                f"({error}); fix --db or PINGJIA_DATABASE_URL"
            ) from None
        except DBAPIError as error:
            raise StoreError(
                f"cannot open the feedback store at {safe_url(self.url)} "
                f"({error.orig}); check that the database is there and reachable"
            ) from None
        logger.info("feedback store open at %s", safe_url(self.url))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # writing

    def ingest(
        self, records: Iterable[dict[str, Any]], first_row: int = 1
    ) -> IngestResult:
        """Store each record (and the labels it carries); bad rows are reported.

        Row numbers count from ``first_row``; a bad row becomes a
        :class:`RowError` and the others are stored.
        """
        return self.ingest_rows(enumerate(records, start=first_row))

    def ingest_rows(
        self, rows: Iterable[tuple[int, dict[str, Any] | RowError]]
    ) -> IngestResult:
        """:meth:`ingest` for (row number, record) pairs, as the file readers
        give them; a :class:`RowError` among them is passed through."""
        result = IngestResult()
        chunk: list[_Row] = []
        for number, record in rows:
            checked = self._check(number, record)
            if isinstance(checked, RowError):
                result.errors.append(checked)
                continue
            chunk.append(checked)
            if len(chunk) >= CHUNK:
                result.outcomes += self._write(chunk)
                chunk = []
        if chunk:
            result.outcomes += self._write(chunk)
        return result

    def add_labels(self, comment_id: str, labelled: dict[str, Any]) -> str:
        """Store a model's labels of a stored comment; returns what it did."""
        return self.add_labels_bulk([(comment_id, labelled)])[0]

    def add_labels_bulk(self, items: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
        """Labels of many stored comments: new | relabelled | updated | unchanged."""
        checked = []
        for index, (cid, labelled) in enumerate(items):
            try:
                checked.append((cid, LabelsIn.model_validate(clean_row(labelled))))
            except ValidationError as error:
                raise ValueError(
                    f"labels of comment {cid!r} (item {index}): "
                    + describe(error, labels=True)
                ) from error

        outcomes = []
        for start in range(0, len(checked), CHUNK):
            outcomes += self._write_labels_only(checked[start : start + CHUNK])
        return outcomes

    def _check(self, number: int, record: Any) -> _Row | RowError:
        if isinstance(record, RowError):
            return record
        if not isinstance(record, dict):
            return RowError(
                number, f"expected a record (an object), got {type(record).__name__}"
            )
        row = clean_row(record)
        try:
            comment = FeedbackRecord.model_validate(row)
        except ValidationError as error:
            return RowError(number, describe(error), record)

        labels = None
        if carries_labels(row):
            try:
                labels = _labels_of(row)
            except ValidationError as error:
                return RowError(number, describe(error, labels=True), record)
        return _Row(number, self._comment_fields(comment), labels)

    def _comment_fields(self, record: FeedbackRecord) -> dict[str, Any]:
        created = record.created_at
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=self.timezone)
        return {
            "id": record.id or comment_id(ID_SOURCE, record.text),
            "text": record.text,
            **{name: getattr(record, name) for name in META_FIELDS},
            "created_at": created,
            "rating": record.rating,
            "extra": _json_safe(record.extra),
        }

    def _write(self, rows: list[_Row]) -> list[Outcome]:
        # A concurrent writer may insert the same new id between our read and
        # our insert; the second attempt then finds it and updates instead.
        for attempt in (1, 2):
            try:
                with Session(self.engine) as session, session.begin():
                    return self._write_in(session, rows)
            except IntegrityError:
                if attempt == 2:
                    raise
                logger.warning("concurrent insert of the same comments; retrying")
        raise AssertionError("unreachable")

    def _write_in(self, session: Session, rows: list[_Row]) -> list[Outcome]:
        ids = {row.comment["id"] for row in rows}
        comments = _lock_comments(session, ids)
        labelings = _labelings_of(session, ids)

        outcomes = []
        for row in rows:
            status = _upsert_comment(session, comments, row.comment)
            outcome = Outcome(row.comment["id"], status)
            if row.labels is not None:
                outcome.labels = _upsert_labels(
                    session, labelings, row.comment["id"], row.labels
                )
            outcomes.append(outcome)
        return outcomes

    def _write_labels_only(self, items: list[tuple[str, LabelsIn]]) -> list[str]:
        with Session(self.engine) as session, session.begin():
            ids = {cid for cid, _ in items}
            known = _lock_comments(session, ids)
            missing = sorted(ids - known.keys())
            if missing:
                raise KeyError(
                    f"expected stored comments, got unknown ids {missing[:5]!r}; "
                    "ingest the comments before adding their labels"
                )
            labelings = _labelings_of(session, ids)
            return [
                _upsert_labels(session, labelings, cid, labels) for cid, labels in items
            ]

    # reading

    def records(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        labelled_only: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Comments created in [since, until), oldest first, with current labels.

        Each is a dict in classify-output shape: the input fields (``id``,
        ``text``, ``agent_id``, ``team``, ``channel``, ``process_step``,
        ``created_at`` as ISO 8601, ``rating``, then the extra fields) and the
        current labels (``sentiment``, ``categories``, ``review``,
        ``truncated``, ``model_version``, ``label_set_version``). Comments
        without labels come only with ``labelled_only=False``, without label
        keys. Comments without ``created_at`` come only when neither bound is
        given.
        """
        join = and_(Labeling.comment_id == Comment.id, Labeling.current.is_(True))
        query = select(Comment, Labeling)
        query = (
            query.join(Labeling, join)
            if labelled_only
            else query.outerjoin(Labeling, join)
        )
        if since is not None:
            query = query.where(Comment.created_at >= self._aware(since))
        if until is not None:
            query = query.where(Comment.created_at < self._aware(until))
        query = query.order_by(Comment.created_at.asc().nulls_last(), Comment.id)

        with Session(self.engine) as session:
            for comment, labeling in session.execute(query).yield_per(CHUNK):
                yield _as_record(comment, labeling)

    def get(self, comment_id: str) -> dict[str, Any] | None:
        """One comment as :meth:`records` gives it, plus its ``history``."""
        with Session(self.engine) as session:
            comment = session.get(Comment, comment_id)
            if comment is None:
                return None
            rows = _history_rows(session, comment_id)
            current = next((row for row in rows if row.current), None)
            return {
                **_as_record(comment, current),
                "history": [_as_history(row) for row in rows],
            }

    def history(self, comment_id: str) -> list[dict[str, Any]]:
        """Every labeling of a comment, oldest first; ``current`` marks one."""
        with Session(self.engine) as session:
            return [_as_history(row) for row in _history_rows(session, comment_id)]

    def count(self) -> dict[str, int]:
        """Comments, labelled comments and labelings stored."""
        from sqlalchemy import func

        with Session(self.engine) as session:
            return {
                "comments": session.scalar(select(func.count(Comment.id))),
                "labelled": session.scalar(
                    select(func.count(Labeling.id)).where(Labeling.current.is_(True))
                ),
                "labelings": session.scalar(select(func.count(Labeling.id))),
            }

    def _aware(self, moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=self.timezone)


class StoreError(ValueError):
    """The store cannot be opened: a bad URL, a missing driver, no database."""


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ArgumentError(f"the store runs on SQLite or PostgreSQL, not {backend}")
    if backend != "sqlite":
        return create_engine(url, pool_pre_ping=True)

    if parsed.database and parsed.database != ":memory:":
        from pathlib import Path

        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # a server and a CLI ingest may write at once: wait for the lock, not fail
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(connection, record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")  # off by default in SQLite
        cursor.close()

    return engine


def _labels_of(row: dict[str, Any]) -> LabelsIn:
    missing = [name for name in REQUIRED_LABEL_FIELDS if row.get(name) is None]
    if missing:
        # validate only what is needed to raise pydantic's own "missing" errors
        LabelsIn.model_validate({k: row.get(k) for k in REQUIRED_LABEL_FIELDS})
    return LabelsIn.model_validate(
        {k: v for k, v in row.items() if k in LabelsIn.model_fields and v is not None}
    )


def _json_safe(values: dict[str, Any]) -> dict[str, Any]:
    # extra fields go into a JSON column: timestamps and the like become text
    return json.loads(json.dumps(values, ensure_ascii=False, default=str))


def _lock_comments(session: Session, ids: set[str]) -> dict[str, Comment]:
    # FOR UPDATE serialises writers of the same comments on PostgreSQL, so two
    # relabelings cannot both end up current; SQLite serialises writes anyway.
    query = select(Comment).where(Comment.id.in_(ids)).with_for_update()
    return {comment.id: comment for comment in session.scalars(query)}


def _labelings_of(session: Session, ids: set[str]) -> dict[str, list[Labeling]]:
    found: dict[str, list[Labeling]] = {cid: [] for cid in ids}
    for labeling in session.scalars(
        select(Labeling).where(Labeling.comment_id.in_(ids))
    ):
        found[labeling.comment_id].append(labeling)
    return found


def _upsert_comment(
    session: Session, comments: dict[str, Comment], fields: dict[str, Any]
) -> str:
    comment = comments.get(fields["id"])
    if comment is None:
        comment = Comment(**fields)
        session.add(comment)
        comments[fields["id"]] = comment
        return "new"

    # an update, not a replacement: a field the record leaves out (or sends
    # as null) keeps what was stored, so a later send of the text alone does
    # not erase the agent, time and rating an earlier one gave
    given = {k: v for k, v in fields.items() if v is not None}
    given["extra"] = {**(comment.extra or {}), **(fields.get("extra") or {})}
    changed = {k: v for k, v in given.items() if getattr(comment, k) != v}
    if not changed:
        return "unchanged"
    for key, value in changed.items():
        setattr(comment, key, value)
    comment.updated_at = utcnow()
    return "updated"


def _upsert_labels(
    session: Session,
    labelings: dict[str, list[Labeling]],
    cid: str,
    labels: LabelsIn,
) -> str:
    rows = labelings.setdefault(cid, [])
    values = _labeling_values(labels)
    same = next(
        (
            row
            for row in rows
            if (row.model_version, row.label_set_version)
            == (labels.model_version, labels.label_set_version)
        ),
        None,
    )
    if same is None:
        status = "relabelled" if rows else "new"
        same = Labeling(comment_id=cid, **values)
        session.add(same)
        rows.append(same)
    else:
        changed = {k: v for k, v in values.items() if getattr(same, k) != v}
        status = "updated" if changed or not same.current else "unchanged"
        for key, value in changed.items():
            setattr(same, key, value)
        if status == "updated":
            same.updated_at = utcnow()

    # the labeling written last is the current one
    for row in rows:
        row.current = row is same
    return status


def _labeling_values(labels: LabelsIn) -> dict[str, Any]:
    return {
        "model_version": labels.model_version,
        "label_set_version": labels.label_set_version,
        "sentiment": labels.sentiment.label,
        "sentiment_score": labels.sentiment.score,
        "categories": [c.model_dump() for c in labels.categories],
        "undecided": labels.undecided,
        "review": labels.review,
        "truncated": labels.truncated,
    }


def _history_rows(session: Session, cid: str) -> list[Labeling]:
    query = (
        select(Labeling)
        .where(Labeling.comment_id == cid)
        .order_by(Labeling.created_at, Labeling.id)
    )
    return list(session.scalars(query))


def _as_record(comment: Comment, labeling: Labeling | None) -> dict[str, Any]:
    record = {
        "id": comment.id,
        "text": comment.text,
        **{name: getattr(comment, name) for name in META_FIELDS},
        "created_at": comment.created_at.isoformat() if comment.created_at else None,
        "rating": comment.rating,
        **(comment.extra or {}),
    }
    if labeling is not None:
        record |= _labels_dict(labeling)
    return record


def _labels_dict(labeling: Labeling) -> dict[str, Any]:
    labels = {
        "sentiment": {"label": labeling.sentiment, "score": labeling.sentiment_score},
        "categories": labeling.categories,
        "review": labeling.review,
        "truncated": bool(labeling.truncated),  # unknown counts as not truncated
        "model_version": labeling.model_version,
        "label_set_version": labeling.label_set_version,
    }
    if labeling.undecided:
        labels["undecided"] = labeling.undecided
    return labels


def _as_history(labeling: Labeling) -> dict[str, Any]:
    return {
        **_labels_dict(labeling),
        "current": labeling.current,
        "labelled_at": labeling.created_at.isoformat(),
        "updated_at": labeling.updated_at.isoformat(),
    }
