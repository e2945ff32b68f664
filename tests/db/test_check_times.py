"""Stored next check times on both backends: kept on change, found by the due-check exactly."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recordmaker import MONDAY, add_record, offline_gateway
from sqlalchemy import inspect, text

from gateway.db import chased, notices, records
from gateway.db.engine import alembic_config, current_revision, latest_revision, upgrade
from gateway.db.models import CHECK_NOW
from gateway.deadlines.chase import due, next_check
from gateway.usecases.chasing import CHASED, check, record_clock

REVISION = "0011"


@pytest.fixture
def gateway(tmp_path, storage_url):
    gateway = offline_gateway(tmp_path, database={"url": storage_url})
    yield gateway
    gateway.close()


def stored(gateway, record_id: str) -> datetime | None:
    with gateway.sessions() as session:
        return records.get_record(session, record_id).next_check_at


def expected(gateway, record_id: str) -> datetime | None:
    with gateway.sessions() as session:
        record = records.get_record(session, record_id)
        sent = notices.sent_keys(session, [record_id]).get(record_id, set())
        if record.status not in CHASED:
            return None
        return next_check(record_clock(record), sent, gateway.chase_policy, gateway.calendar)


def test_a_new_record_is_looked_at_by_the_next_check_which_stores_its_time(gateway):
    with gateway.sessions.begin() as session:
        record_id = add_record(session).id
    assert stored(gateway, record_id) == CHECK_NOW
    check(gateway.services, gateway.chase_policy, MONDAY + timedelta(minutes=1))
    when = stored(gateway, record_id)
    assert when is not None and when > MONDAY
    assert when == expected(gateway, record_id)


def test_a_changed_deadline_a_reminder_and_closing_each_move_the_check_time(gateway):
    with gateway.sessions.begin() as session:
        record_id = add_record(session).id
    check(gateway.services, gateway.chase_policy, MONDAY)
    first = stored(gateway, record_id)
    with gateway.sessions.begin() as session:  # a re-grade moves the deadline
        records.get_record(session, record_id).due_at = MONDAY + timedelta(hours=2)
    assert stored(gateway, record_id) == CHECK_NOW
    check(gateway.services, gateway.chase_policy, MONDAY + timedelta(minutes=1))
    moved = stored(gateway, record_id)
    assert moved == expected(gateway, record_id) and moved != first
    result = check(gateway.services, gateway.chase_policy, moved)  # the reminder goes out
    assert [rid for rid, _ in result.sent] == [record_id]
    after = stored(gateway, record_id)
    assert after > moved and after == expected(gateway, record_id)
    with gateway.sessions.begin() as session:
        records.get_record(session, record_id).status = "closed"
    check(gateway.services, gateway.chase_policy, moved + timedelta(minutes=1))
    assert stored(gateway, record_id) is None


def test_a_change_of_what_chasing_ignores_keeps_the_stored_time(gateway):
    with gateway.sessions.begin() as session:
        record_id = add_record(session).id
    check(gateway.services, gateway.chase_policy, MONDAY)
    before = stored(gateway, record_id)
    with gateway.sessions.begin() as session:
        records.get_record(session, record_id).remarks = "已电话联系"
    assert stored(gateway, record_id) == before


def full_scan(gateway, now: datetime) -> set[str]:
    """The due-check as it was: every chased record read and planned."""
    with gateway.sessions() as session:
        found = records.with_status(session, CHASED)
        sent = notices.sent_keys(session, [r.id for r in found])
        return {r.id for r in found
                if (d := due(record_clock(r), sent.get(r.id, set()), now,
                             gateway.chase_policy, gateway.calendar)).send or d.superseded}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), hours=st.integers(1, 24 * 12))
def test_the_check_finds_exactly_the_records_a_full_scan_finds(gateway, seed, hours):
    rng = random.Random(seed)
    start = MONDAY - timedelta(days=rng.randint(0, 10))
    with gateway.sessions.begin() as session:
        for _ in range(12):
            created = start + timedelta(minutes=rng.randint(0, 60 * 24 * 5))
            add_record(session, created=created,
                       urgency=rng.choice(["normal", "urgent", "critical"]),
                       status=rng.choice(["open", "in_progress", "resolved", "closed"]),
                       due_at=created + timedelta(hours=rng.choice([2, 24, 72])),
                       resolve_due_at=created + timedelta(days=rng.choice([1, 5])))
    settled_at = start + timedelta(days=6)
    check(gateway.services, gateway.chase_policy, settled_at)
    now = settled_at + timedelta(hours=hours)
    with gateway.sessions() as session:
        found = set(chased.due_for_check(session, now))
    assert found == full_scan(gateway, now)


def test_an_older_register_gets_check_times_and_indexes_on_upgrade(storage_url):
    from alembic import command
    from alembic.script import ScriptDirectory

    from gateway.db.engine import make_engine

    engine = make_engine(storage_url)
    upgrade(engine)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, before)
    columns = ", ".join(("id, prefix, year, seq, direction, status, urgency, title, subject, "
                         "summary, problem_type, channel, from_addr, from_name, department, "
                         "cc, departments, sent_at, created_at, rule_name").split(", "))
    with engine.begin() as connection:
        for record_id, status in (("NX-2026-001", "open"), ("NX-2026-002", "closed")):
            connection.execute(text(
                f"INSERT INTO records ({columns}) VALUES (:id, 'NX', 2026, 1, 'external', "
                ":status, 'normal', 't', 's', '', '其他', 'email', 'a@b.example', '', '生产部', "
                "'[]', '[]', :at, :at, 'default')"),
                {"id": record_id, "status": status, "at": datetime(2026, 11, 23, 2, 0)})
    upgrade(engine)
    assert current_revision(engine) == latest_revision()
    with engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT id, next_check_at FROM records")).all())
    assert rows["NX-2026-002"] is None
    assert rows["NX-2026-001"] is not None and str(rows["NX-2026-001"]).startswith("1970-01-01")
    names = {ix["name"] for ix in inspect(engine).get_indexes("records")}
    assert {"ix_records_next_check_at", "ix_records_department_status_created_at"} <= names
    engine.dispose()


def test_check_times_made_under_other_words_are_made_again_for_chased_records_only(gateway):
    with gateway.sessions.begin() as session:
        chased_ids = [add_record(session).id, add_record(session, status="in_progress").id]
        done = add_record(session, status="closed").id
    check(gateway.services, gateway.chase_policy, MONDAY)
    kept = {rid: stored(gateway, rid) for rid in chased_ids}
    assert CHECK_NOW not in kept.values()

    def recheck(words: str) -> int:
        with gateway.sessions.begin() as session:
            return chased.recheck_unless_made_under(session, words, CHASED, MONDAY)

    assert recheck("policy A") == 2  # no mark yet: times of unknown making are made again
    assert {rid: stored(gateway, rid) for rid in chased_ids} == dict.fromkeys(chased_ids,
                                                                              CHECK_NOW)
    assert stored(gateway, done) is None
    check(gateway.services, gateway.chase_policy, MONDAY)
    assert recheck("policy A") == 0  # the same words: the stored times stand
    assert {rid: stored(gateway, rid) for rid in chased_ids} == kept
    assert recheck("policy B") == 2
