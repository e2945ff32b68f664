"""Storage behaviour on SQLite and, when GATEWAY_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from gateway.db import checkpoints, mails, outbox, records
from gateway.db.engine import (
    alembic_config,
    current_revision,
    latest_revision,
    make_engine,
    make_sessionmaker,
    upgrade,
)
from gateway.db.models import AppendOnlyViolation, LogEntry, Mail, Record
from gateway.db.sessions import Sessions
from gateway.errors import Duplicate, StorageError
from gateway.model import Checkpoint

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


@pytest.fixture
def sessions(storage_url):
    """Schema at the latest migration on a fresh database of each backend under test."""
    engine = make_engine(storage_url)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _record(record_id: str, **overrides) -> Record:
    values = dict(
        id=record_id, prefix="NX", year=2026, seq=1, direction="inbound", status="open",
        urgency="urgent", title="设备故障通知", subject="【紧急】生产部-设备故障通知",
        summary="", problem_type="故障投诉", from_addr="a@b.example", from_name="",
        department="生产部", cc=[], departments=["生产部"], sent_at=NOW, created_at=NOW,
        rule_name="default",
    )
    values.update(overrides)
    return Record(**values)


def _mail(message_id: str, record: Record | None = None) -> Mail:
    return Mail(direction="in", message_id=message_id, inbound_key=message_id, kind="original",
                record=record, subject="s", from_addr="a@b.example", to_addrs=[],
                created_at=NOW, size=1, digest="0" * 64, raw=b"x")


def test_the_latest_revision_is_alembics_head(storage_url):
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(storage_url)).get_current_head()
    assert latest_revision() == head


def test_an_older_schema_is_brought_to_the_latest_revision(sessions):
    from alembic import command

    engine = sessions.kw["bind"]
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert current_revision(engine) == "0004"
    upgrade(engine)
    assert current_revision(engine) == latest_revision()
    with sessions() as session:
        assert session.execute(text("SELECT count(*) FROM auto_replies")).scalar() == 0


def test_record_ids_are_sequential_per_prefix_and_year(sessions):
    with sessions.begin() as session:
        ids = [records.allocate_record_id(session, "NX", 2026)[0] for _ in range(3)]
        other = records.allocate_record_id(session, "NB", 2026)[0]
        next_year = records.allocate_record_id(session, "NX", 2027)[0]
    assert ids == ["NX-2026-001", "NX-2026-002", "NX-2026-003"]
    assert other == "NB-2026-001"
    assert next_year == "NX-2027-001"


def test_record_ids_stay_unique_under_concurrent_writers(sessions):
    allocated: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(15):
                with sessions.begin() as session:
                    record_id, _ = records.allocate_record_id(session, "NJ", 2026)
                with lock:
                    allocated.append(record_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(allocated) == 90
    assert len(set(allocated)) == 90
    assert max(allocated) == "NJ-2026-090"


def test_record_ids_stay_gapless_when_transactions_take_several(sessions):
    # A transaction's later ids count on in memory; the row gets its final value at commit.
    allocated: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(each: int) -> None:
        try:
            for _ in range(8):
                with sessions.begin() as session:
                    ids = [records.allocate_record_id(session, "NK", 2026)[0] for _ in range(each)]
                with lock:
                    allocated.extend(ids)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2, 3, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(allocated) == [f"NK-2026-{n:03d}" for n in range(1, 8 * 11 + 1)]


def test_a_rolled_back_transaction_gives_its_ids_and_log_lines_back(sessions):
    with sessions.begin() as session:
        record = _record("NX-2026-001")
        session.add(record)
        assert records.allocate_record_id(session, "NR", 2026)[0] == "NR-2026-001"
    with pytest.raises(RuntimeError, match="undone"):
        with sessions.begin() as session:
            record = session.get(Record, "NX-2026-001")
            taken = [records.allocate_record_id(session, "NR", 2026)[0] for _ in range(3)]
            assert taken == ["NR-2026-002", "NR-2026-003", "NR-2026-004"]
            records.add_log(session, record, at=NOW, kind="note", actor="a@b.example", text="撤销")
            raise RuntimeError("undone")
    with sessions.begin() as session:
        assert records.allocate_record_id(session, "NR", 2026)[0] == "NR-2026-002"
        assert session.query(LogEntry).count() == 0


def test_log_lines_are_seen_by_queries_of_their_own_transaction(sessions):
    with sessions.begin() as session:
        record = _record("NX-2026-001")
        session.add(record)
        mail = _mail("in@x.example", record)
        session.add(mail)
        records.add_log(session, record, at=NOW, kind="created", actor="a@b.example", text="建立",
                        mail=mail)
        entry = session.query(LogEntry).one()  # written by autoflush, with the mail's new id
        assert (entry.kind, entry.mail_id) == ("created", mail.id)
        records.add_log(session, record, at=NOW, kind="routed", actor="gateway", text="分派")
        with session.no_autoflush:
            assert session.query(LogEntry).count() == 1  # like pending objects: not yet
    with sessions() as session:
        assert [e.kind for e in session.get(Record, "NX-2026-001").log] == ["created", "routed"]


def test_a_savepoint_is_refused_once_the_journal_holds_rows(sessions):
    with pytest.raises(RuntimeError, match="savepoint"):
        with sessions.begin() as session:
            record = _record("NX-2026-001")
            session.add(record)
            records.add_log(session, record, at=NOW, kind="note", actor="a@b.example", text="x")
            session.begin_nested()
    with sessions() as session:
        assert session.query(LogEntry).count() == 0 and session.get(Record, "NX-2026-001") is None


def test_one_message_id_is_stored_once(sessions):
    with sessions.begin() as session:
        session.add(_mail("dup@x.example"))
    with pytest.raises(IntegrityError):
        with sessions.begin() as session:
            session.add(_mail("dup@x.example"))
    with sessions() as session:
        assert mails.inbound_exists(session, "dup@x.example")
        assert not mails.inbound_exists(session, "other@x.example")


def test_driver_errors_leave_the_session_factory_as_the_gateways_own(sessions):
    opened = Sessions(sessions.kw["bind"])
    with opened.begin() as session:
        session.add(_mail("dup@x.example"))
    with pytest.raises(Duplicate) as refused:
        with opened.begin() as session:
            session.add(_mail("dup@x.example"))
    assert isinstance(refused.value.__cause__, IntegrityError)
    with pytest.raises(StorageError) as failed:
        with opened() as session:
            session.execute(text("SELECT * FROM no_such_table"))
    assert isinstance(failed.value.__cause__, DBAPIError)
    with pytest.raises(RuntimeError, match="not the database"):  # a bug stays a bug
        with opened.begin() as session:
            raise RuntimeError("not the database")


def test_log_entries_refuse_update_in_the_orm(sessions):
    with sessions.begin() as session:
        record = _record("NX-2026-001")
        session.add(record)
        records.add_log(session, record, at=NOW, kind="created", actor="a@b.example", text="建立")
    with pytest.raises(AppendOnlyViolation):
        with sessions.begin() as session:
            entry = session.query(LogEntry).one()
            entry.text = "改写"


@pytest.mark.parametrize("statement", ["UPDATE log_entries SET text = 'x'", "DELETE FROM log_entries"])
def test_log_entries_refuse_changes_in_the_database(sessions, statement):
    with sessions.begin() as session:
        record = _record("NX-2026-001")
        session.add(record)
        records.add_log(session, record, at=NOW, kind="created", actor="a@b.example", text="建立")
    with pytest.raises(DBAPIError, match="append-only"):
        with sessions.begin() as session:
            session.execute(text(statement))
    with sessions() as session:
        assert session.query(LogEntry).one().text == "建立"


def test_datetimes_come_back_aware_and_equal(sessions):
    shanghai = timezone(timedelta(hours=8))
    due = datetime(2026, 11, 26, 9, 0, tzinfo=shanghai)
    with sessions.begin() as session:
        session.add(_record("NX-2026-001", due_at=due))
    with sessions() as session:
        stored = session.get(Record, "NX-2026-001").due_at
    assert stored == due
    assert stored.utcoffset() == timedelta(0)


def test_threading_finds_the_record_by_any_message_id(sessions):
    with sessions.begin() as session:
        record = _record("NX-2026-001")
        session.add(record)
        session.add(_mail("first@x.example", record))
    with sessions() as session:
        found = records.record_for_message_ids(session, ["unknown@x", "first@x.example"])
        assert found is not None and found.id == "NX-2026-001"
        assert records.record_for_message_ids(session, ["unknown@x"]) is None
        assert records.record_for_message_ids(session, []) is None


def test_checkpoint_moves_forward_and_resets_on_new_uidvalidity(sessions):
    with sessions.begin() as session:
        checkpoints.save(session, "imap:INBOX", Checkpoint(7, 40), NOW)
    with sessions.begin() as session:
        checkpoints.save(session, "imap:INBOX", Checkpoint(7, 30), NOW)  # never backwards
    with sessions() as session:
        assert checkpoints.load(session, "imap:INBOX") == Checkpoint(7, 40)
    with sessions.begin() as session:
        checkpoints.save(session, "imap:INBOX", Checkpoint(8, 2), NOW)
    with sessions() as session:
        assert checkpoints.load(session, "imap:INBOX") == Checkpoint(8, 2)
        assert checkpoints.load(session, "imap:Other") is None


def test_outbox_rows_come_due_in_order(sessions):
    with sessions.begin() as session:
        for n in range(3):
            outbox.enqueue(session, message_id=f"m{n}@gw", kind="ack", raw=b"raw",
                           subject="s", envelope_from="gw@x", recipients=["a@b"], record=None,
                           now=NOW + timedelta(seconds=n))
    with sessions() as session:
        due = outbox.due(session, NOW + timedelta(seconds=1), 10)
        assert [(row.message_id, row.raw) for row in due] == [("m0@gw", b"raw"), ("m1@gw", b"raw")]
    with sessions.begin() as session:
        outbox.mark_sent(session, [due[0].id], NOW)
        outbox.mark_retry(session, due[1].id, "451 busy", NOW + timedelta(hours=1), dead=False)
    with sessions() as session:
        assert outbox.counts(session) == {"sent": 1, "pending": 2}
        due = outbox.due(session, NOW + timedelta(seconds=5), 10)
        assert [row.message_id for row in due] == ["m2@gw"]
