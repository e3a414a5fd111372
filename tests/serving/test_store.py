"""The feedback store on SQLite, and on PostgreSQL when a URL is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from labels.ids import comment_id
from serving.store import FeedbackStore
from serving.store.migrate import current_revision, head_revision
from serving.store.models import Base
from tests.serving.store_fixtures import DATABASES, database_url, labels

CHINA = timezone(timedelta(hours=8))
INPUT_KEYS = {
    "id",
    "text",
    "agent_id",
    "team",
    "channel",
    "process_step",
    "created_at",
    "rating",
}
LABEL_KEYS = {
    "sentiment",
    "categories",
    "review",
    "truncated",
    "model_version",
    "label_set_version",
}


@pytest.fixture(params=DATABASES)
def url(request, tmp_path):
    yield from database_url(request.param, tmp_path)


@pytest.fixture
def store(url):
    with FeedbackStore(url) as store:
        yield store


def comments() -> list[dict]:
    return [
        {
            "id": "c1",
            "text": "客服半天不回，问题也没解决😡",
            "agent_id": "a17",
            "team": "售后一组",
            "channel": "app",
            "process_step": "refund",
            "created_at": "2026-11-03T09:05:00+08:00",
            "rating": 1,
            "order_channel": "小程序",
        },
        {
            "id": "c2",
            "text": "骑手态度很好，很有礼貌！",
            "created_at": "2026-11-04T10:00:00+08:00",
        },
        {
            "id": "c3",
            "text": "送得太慢了",
            "rating": "2",
            "created_at": "2026-11-06T23:30:00Z",
        },
    ]


def test_open_creates_the_schema_at_alembic_head(store):
    with store.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)

    assert current_revision(store.engine) == head_revision() == "0001"
    assert drift == []  # the migrations create exactly what the models describe


def test_open_twice_keeps_the_data(url):
    with FeedbackStore(url) as first:
        first.ingest(comments())

    with FeedbackStore(url) as second:
        assert second.count()["comments"] == 3


def test_ingest_twice_is_idempotent_and_a_change_updates(store):
    first = store.ingest(comments())
    again = store.ingest(comments())
    changed = comments()
    changed[1]["rating"] = 5
    third = store.ingest(changed)

    assert first.counts["new"] == 3
    assert (again.counts["new"], again.counts["unchanged"]) == (0, 3)
    assert [o.comment for o in third.outcomes] == ["unchanged", "updated", "unchanged"]
    assert store.count()["comments"] == 3
    assert store.get("c2")["rating"] == 5


def test_ingest_again_without_some_fields_keeps_what_was_stored(store):
    store.ingest(comments())
    first = store.get("c1")

    again = store.ingest([{"id": "c1", "text": first["text"], "note": "复核"}])

    kept = store.get("c1")
    assert [o.comment for o in again.outcomes] == ["updated"]  # the new field
    for field in ("agent_id", "created_at", "rating", "order_channel"):
        assert kept[field] == first[field], field
    assert kept["note"] == "复核"


def test_ingest_without_id_uses_the_text_hash_and_stays_idempotent(store):
    store.ingest([{"text": "送餐很快，味道很好"}])
    # the full-width comma is NFKC-normalised to this one: the same id
    result = store.ingest([{"text": "送餐很快,味道很好"}])

    expected = comment_id("feedback", "送餐很快，味道很好")
    assert [o.id for o in result.outcomes] == [expected]
    assert result.outcomes[0].comment == "updated"  # same id, text as sent now
    assert store.count()["comments"] == 1


def test_ingest_bad_rows_are_reported_by_row_and_the_rest_kept(store):
    rows = [
        {"id": "ok1", "text": "很好吃"},
        {"id": "bad-rating", "text": "一般", "rating": 7},
        {"id": "no-text"},
        {"id": "bad-time", "text": "太贵了", "created_at": "last tuesday"},
        {"id": "number-text", "text": 42},
        {"id": "ok2", "text": "包装太差", "rating": ""},  # empty cell: not given
        {"id": "far", "text": "还行", "created_at": "9999-12-31T23:59:59-12:00"},
    ]

    result = store.ingest(rows)

    reasons = {error.row: error.reason for error in result.errors}
    assert sorted(reasons) == [2, 3, 4, 5, 7]
    assert "between the years 1900 and 2200" in reasons[7]
    assert "rating: expected a whole number from 1 to 5, got 7" in reasons[2]
    assert "use 1 to 5, or leave it empty" in reasons[2]
    assert "text: expected a non-empty string" in reasons[3]
    assert "expected an ISO 8601 time" in reasons[4] and "'last tuesday'" in reasons[4]
    assert "got 42" in reasons[5]
    assert [o.id for o in result.outcomes] == ["ok1", "ok2"]
    assert store.count()["comments"] == 2


def test_ingest_partial_labels_are_a_row_error(store):
    result = store.ingest([{"id": "x", "text": "送得太慢了", "sentiment": "negative"}])

    assert result.errors[0].row == 1
    assert (
        "expected labels as `pingjia classify` writes them" in result.errors[0].reason
    )
    assert store.count()["comments"] == 0


def test_relabel_with_a_new_model_keeps_history(store):
    store.ingest([{**comments()[0], **labels("m1", "negative")}])

    second = store.add_labels("c1", labels("m2", "neutral"))
    history = store.history("c1")

    assert second == "relabelled"
    assert [(h["model_version"], h["current"]) for h in history] == [
        ("m1", False),
        ("m2", True),
    ]
    assert next(store.records())["sentiment"]["label"] == "neutral"
    assert store.count() == {"comments": 1, "labelled": 1, "labelings": 2}


def test_relabel_with_the_same_model_updates_in_place(store):
    store.ingest(comments())
    store.add_labels("c1", labels("m1", "negative"))
    store.add_labels("c1", labels("m2", "negative"))

    same = store.add_labels("c1", labels("m2", "negative"))
    back = store.add_labels("c1", labels("m1", "positive"))

    assert same == "unchanged"
    assert back == "updated"  # m1 again: its row rewritten, and current again
    assert [(h["model_version"], h["current"]) for h in store.history("c1")] == [
        ("m1", True),
        ("m2", False),
    ]
    assert store.get("c1")["sentiment"]["label"] == "positive"


def test_add_labels_to_an_unknown_comment_says_to_ingest_first(store):
    with pytest.raises(KeyError, match="ingest the comments before adding"):
        store.add_labels("nope", labels())


def test_add_labels_that_are_malformed_name_the_comment(store):
    store.ingest(comments())

    with pytest.raises(ValueError, match="labels of comment 'c1'"):
        store.add_labels(
            "c1", {**labels(), "sentiment": {"label": "angry", "score": 1}}
        )


def test_records_have_classify_output_shape(store):
    store.ingest(comments())
    store.add_labels_bulk([("c1", labels("m1")), ("c3", labels("m1"))])

    found = list(store.records())

    assert [r["id"] for r in found] == ["c1", "c3"]  # labelled only, oldest first
    first = found[0]
    assert set(first) == INPUT_KEYS | LABEL_KEYS | {"order_channel"}
    assert first["created_at"] == "2026-11-03T01:05:00+00:00"
    assert first["order_channel"] == "小程序" and first["team"] == "售后一组"
    assert first["categories"][0]["label"] == "speed"
    assert first["truncated"] is False and first["model_version"] == "m1"
    assert found[1]["rating"] == 2  # "2" from a CSV cell, stored as a number


def test_records_of_unlabelled_comments_have_no_label_keys(store):
    store.ingest(comments())
    store.add_labels("c1", labels())

    found = {r["id"]: r for r in store.records(labelled_only=False)}

    assert set(found) == {"c1", "c2", "c3"}
    assert set(found["c2"]) == INPUT_KEYS
    assert found["c2"]["agent_id"] is None


def test_records_period_is_half_open_and_time_zone_aware(store):
    store.ingest([{**c, **labels()} for c in comments()])
    store.ingest([{"id": "undated", "text": "好", **labels()}])

    november_4_china = datetime(2026, 11, 4, tzinfo=CHINA)
    november_5_china = datetime(2026, 11, 5, tzinfo=CHINA)
    day = [r["id"] for r in store.records(november_4_china, november_5_china)]
    since = [r["id"] for r in store.records(since=datetime(2026, 11, 4, 2, tzinfo=UTC))]
    until = [r["id"] for r in store.records(until=datetime(2026, 11, 4, 2, tzinfo=UTC))]
    everything = [r["id"] for r in store.records()]

    assert day == ["c2"]
    assert since == ["c2", "c3"]  # c2 at exactly 02:00 UTC is in [since, ...)
    assert until == ["c1"]
    assert everything == ["c1", "c2", "c3", "undated"]  # undated only unbounded


def test_naive_times_are_read_in_the_store_time_zone(url):
    with FeedbackStore(url, timezone="Asia/Shanghai") as store:
        store.ingest(
            [{"id": "n", "text": "好", "created_at": "2026-11-05 12:00", **labels()}]
        )
        found = next(store.records(since=datetime(2026, 11, 5, 12)))  # naive: China

    assert found["created_at"] == "2026-11-05T04:00:00+00:00"


def test_get_unknown_comment_is_none(store):
    assert store.get("nope") is None
    assert store.history("nope") == []
