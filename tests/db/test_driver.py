"""Rows straight to the driver: the same stored values as the ordinary INSERT, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import TypeDecorator, insert, select

from gateway.db._driver import insert_many, reserve_ids
from gateway.db.engine import make_engine, upgrade
from gateway.db.models import CHECK_NOW, LogEntry, Mail, Record, UtcDateTime

CST = timezone(timedelta(hours=8))
AT = datetime(2026, 11, 30, 9, 30, tzinfo=CST)


@pytest.fixture
def engine(storage_url):
    engine = make_engine(storage_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _record(n: int, **extra) -> dict:
    return {"id": f"NX-2026-{n:03d}", "prefix": "NX", "year": 2026, "seq": n,
            "direction": "inbound", "status": "open", "urgency": "urgent", "title": "设备故障",
            "subject": "【紧急】生产部-设备故障", "summary": "", "problem_type": "故障",
            "from_addr": "a@b.example", "from_name": "", "department": "生产部",
            "cc": ["c@corp.example"], "departments": ["生产部"], "created_at": AT,
            "sent_at": AT, "due_at": AT + timedelta(hours=4), "rule_name": "default", **extra}


def test_rows_are_stored_as_the_ordinary_insert_stores_them(engine) -> None:
    with engine.begin() as connection:
        assert insert_many(connection, Record.__table__, [_record(1), _record(2)])
        connection.execute(insert(Record.__table__), [_record(3)])
    with engine.connect() as connection:
        rows = connection.execute(select(Record.__table__).order_by(Record.id)).mappings().all()
    fast, _, ordinary = rows
    assert {k: v for k, v in fast.items() if k not in ("id", "seq")} == {
        k: v for k, v in ordinary.items() if k not in ("id", "seq")}
    # Left out, plain defaults: filled as the ORM would.
    assert fast["channel"] == "email"
    assert fast["next_check_at"].replace(tzinfo=UTC) == CHECK_NOW
    assert fast["cc"] == ["c@corp.example"]
    assert fast["due_at"].replace(tzinfo=UTC) == (AT + timedelta(hours=4)).astimezone(UTC)


def test_rows_the_driver_cannot_take_are_left_to_the_caller(engine) -> None:
    with engine.begin() as connection:
        # Different keys in one batch.
        assert not insert_many(connection, Record.__table__,
                               [_record(1), _record(2, organisation="大客户集团")])
        # A default computed per row (LogEntry.data defaults to a new dict).
        connection.execute(insert(Record.__table__), [_record(9)])
        entry = {"record_id": "NX-2026-009", "at": AT, "kind": "note", "actor": "x",
                 "text": "t"}
        assert not insert_many(connection, LogEntry.__table__, [entry])
    with engine.connect() as connection:
        assert connection.execute(select(Record.id)).scalars().all() == ["NX-2026-009"]


def _mail(n: int) -> dict:
    return {"direction": "out", "message_id": f"m{n}@gw.example", "kind": "ack",
            "subject": "回执", "from_addr": "gw@corp.example", "to_addrs": ["a@b.example"],
            "created_at": AT, "size": 1, "digest": "d", "raw": b"x"}


def test_reserved_ids_follow_the_stored_rows_and_are_never_handed_out_twice(engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(Mail.__table__), [_mail(1), _mail(2)])
    taken = []
    for first in (3, 5):
        with engine.begin() as connection:
            ids = list(reserve_ids(connection, Mail.__table__, 2))
            assert insert_many(connection, Mail.__table__,
                               [{**_mail(first + i), "id": id_} for i, id_ in enumerate(ids)])
        taken += ids
    with engine.begin() as connection:  # the ordinary insert goes on after the reserved ids
        connection.execute(insert(Mail.__table__), [_mail(7)])
    with engine.connect() as connection:
        stored = dict(connection.execute(select(Mail.message_id, Mail.id)).all())
    assert len(set(stored.values())) == 7
    assert all(i > max(stored["m1@gw.example"], stored["m2@gw.example"]) for i in taken)
    assert [stored[f"m{n}@gw.example"] for n in (3, 4, 5, 6)] == taken
    assert stored["m7@gw.example"] > max(taken)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, CST, timezone(timedelta(hours=-9, minutes=-30))])))
def test_sqlite_datetime_text_is_the_dialects_own(value: datetime) -> None:
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    column_type = UtcDateTime().dialect_impl(dialect)  # as the engine compiles it
    fast = column_type.bind_processor(dialect)
    ordinary = TypeDecorator.bind_processor(column_type, dialect)
    assert fast(value) == ordinary(value)
    assert isinstance(fast(value), str)


def test_sqlite_datetime_text_refuses_a_naive_value() -> None:
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    fast = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert fast(None) is None
    with pytest.raises(ValueError, match="naive"):
        fast(datetime(2026, 11, 30, 9, 30))


COMPACT = {"department": "生产部", "trace": [{"rule": "设备故障", "line": 3}]}


@pytest.mark.parametrize("url", ["sqlite://", "postgresql+psycopg://nobody@127.0.0.1:1/none"])
def test_json_columns_are_written_as_compact_utf8_on_each_backend(url):
    engine = make_engine(url)  # opens no connection
    assert engine.dialect._json_serializer(COMPACT) == \
        '{"department":"生产部","trace":[{"rule":"设备故障","line":3}]}'
    engine.dispose()


def test_json_text_in_the_database_is_what_the_serializer_wrote():
    from sqlalchemy import JSON, Column, Integer, MetaData, Table, text

    engine = make_engine("sqlite://")
    table = Table("documents", MetaData(), Column("id", Integer, primary_key=True),
                  Column("data", JSON))
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        assert insert_many(connection, table, [{"id": 1, "data": COMPACT}])
        stored = connection.execute(text("SELECT data FROM documents")).scalar()
        assert stored == '{"department":"生产部","trace":[{"rule":"设备故障","line":3}]}'
        assert connection.execute(select(table.c.data)).scalar() == COMPACT
    engine.dispose()
