"""Archiving after closing, archive classes, purge (dry run versus real), handing a thread over."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta

import pytest
from mailmaker import gbk_mail
from recordmaker import MONDAY, add_record, offline_gateway
from sqlalchemy import select

from gateway.config import load_settings
from gateway.db.models import LogEntry, Mail, Record
from gateway.deadlines.duration import parse_duration
from gateway.errors import ArchiveError, ConfigError, NotFound
from gateway.model import FetchedMail
from gateway.runtime.scheduler import Jobs
from gateway.usecases import archiving

TWO_DAYS = parse_duration("2 working days")
RETENTION = {"ordinary": 1, "important": 5}


@pytest.fixture
def gateway(tmp_path):
    gateway = offline_gateway(tmp_path)
    yield gateway
    gateway.close()


def closed_record(session, closed_at=MONDAY, **fields):
    return add_record(session, status="closed", closed_at=closed_at, mails=3, **fields)


def test_closed_record_is_archived_two_working_days_after_closing(gateway):
    with gateway.sessions.begin() as session:
        closed_record(session)  # Monday 10:00 → due Wednesday 10:00
        add_record(session)  # open: never archived
    with gateway.sessions.begin() as session:
        early = MONDAY + timedelta(days=2) - timedelta(minutes=1)
        assert archiving.archive_due(session, early, gateway.calendar, TWO_DAYS, "ordinary") == []
    with gateway.sessions.begin() as session:
        done = archiving.archive_due(session, MONDAY + timedelta(days=2), gateway.calendar,
                                   TWO_DAYS, "ordinary")
        assert done == ["ND-2026-001"]
        record = session.get(Record, "NX-2026-001")
        assert (record.archive_id, record.archive_class) == ("ND-2026-001", "ordinary")
        assert record.log[-1].kind == "archived" and "外部" in record.log[-1].text
        assert session.get(Record, "NX-2026-002").archive_id is None


def test_a_class_set_by_the_rule_or_staff_survives_archiving(gateway):
    with gateway.sessions.begin() as session:
        closed_record(session, archive_class="important")
        staff = closed_record(session)
        archiving.set_archive_class(session, staff, "涉密", "zhou.min@corp.example", MONDAY)
        assert staff.log[-1].text == "归档类别设为 涉密"
        assert staff.log[-1].actor == "zhou.min@corp.example"
    with gateway.sessions.begin() as session:
        archiving.archive_due(session, MONDAY + timedelta(days=7), gateway.calendar, TWO_DAYS,
                            "ordinary")
        classes = session.scalars(select(Record.archive_class).order_by(Record.id)).all()
        assert classes == ["important", "classified"]


@pytest.mark.parametrize("word", ["绝密文件", "", "top"])
def test_unknown_archive_class_is_refused(gateway, word):
    with gateway.sessions.begin() as session:
        record = add_record(session)
        with pytest.raises(ArchiveError):
            archiving.set_archive_class(session, record, word, "x@corp.example", MONDAY)


def test_expiry_keeps_the_day_across_a_leap_day():
    assert archiving.expires_at(datetime(2028, 2, 29, tzinfo=UTC), 1) == datetime(
        2029, 2, 28, tzinfo=UTC)


@pytest.fixture
def archived(gateway):
    """Three records archived 2025-11-01: ordinary (expired now), important, classified."""
    then = datetime(2025, 11, 1, 2, 0, tzinfo=UTC)
    with gateway.sessions.begin() as session:
        for klass in ("ordinary", "important", "classified"):
            record = closed_record(session, created=then, closed_at=then, archive_class=klass)
            record.archived_at, record.archive_id = then, f"ND-2025-{record.seq:03d}"
    return gateway


def log_of(session, record_id):
    return [(e.id, e.text) for e in session.scalars(
        select(LogEntry).where(LogEntry.record_id == record_id).order_by(LogEntry.id))]


def test_purge_dry_run_lists_and_changes_nothing(archived):
    with archived.sessions.begin() as session:
        before = log_of(session, "NX-2025-001")
        found = archiving.purge(session, MONDAY, RETENTION, dry_run=True)
        assert [(f.record_id, f.archive_class, f.mails) for f in found] == [
            ("NX-2025-001", "ordinary", 3)]
    with archived.sessions() as session:
        record = session.get(Record, "NX-2025-001")
        assert record.purged_at is None and record.from_addr == "wang@customer.example"
        assert all(m.raw for m in record.mails)
        assert log_of(session, "NX-2025-001") == before


def test_purge_removes_raw_mail_and_personal_data_and_appends_an_audit_line(archived):
    with archived.sessions() as session:
        before = log_of(session, "NX-2025-001")
    with archived.sessions.begin() as session:
        found = archiving.purge(session, MONDAY, RETENTION, dry_run=False)
        assert [f.record_id for f in found] == ["NX-2025-001"]
    with archived.sessions() as session:
        record = session.get(Record, "NX-2025-001")
        assert record.purged_at == MONDAY
        assert (record.from_addr, record.from_name, record.owner_addr, record.summary) == (
            "", "", None, "")
        assert [m.raw for m in record.mails] == [b"", b"", b""]
        assert all(m.digest and m.from_addr == "" for m in record.mails)
        after = log_of(session, "NX-2025-001")
        assert after[:-1] == before  # earlier entries untouched
        assert "已删除原始邮件 3 封" in after[-1][1]
        kept = session.get(Record, "NX-2025-002")
        assert kept.purged_at is None and all(m.raw for m in kept.mails)
    with archived.sessions.begin() as session:
        assert archiving.purge(session, MONDAY, RETENTION, dry_run=False) == []


def test_classified_records_are_never_purged_automatically(archived):
    with archived.sessions.begin() as session:
        far = MONDAY + timedelta(days=365 * 30)
        found = archiving.purge(session, far, RETENTION, dry_run=True)
        assert {f.archive_class for f in found} == {"ordinary", "important"}


def test_archive_export_writes_the_thread_as_eml_and_a_summary(archived, tmp_path):
    out = tmp_path / "handover"
    with archived.sessions() as session:
        written = archiving.export_thread(session, "nd-2025-002", out, archived.settings.tz)
        raws = [m.raw for m in session.get(Record, "NX-2025-002").mails]
    emls = sorted(out.glob("*.eml"))
    assert [p.name for p in emls] == ["001-in-original.eml", "002-out-original.eml",
                                      "003-in-original.eml"]
    assert [p.read_bytes() for p in emls] == raws
    assert email.message_from_bytes(emls[0].read_bytes())["Subject"] == "mail 0"
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "信息编号: NX-2025-002" in summary and "归档编号: ND-2025-002" in summary
    assert "外部 / 重要" in summary and "沟通记录:" in summary
    assert len(written) == 5


def test_archive_export_of_an_unknown_id_is_not_found(gateway, tmp_path):
    with gateway.sessions() as session, pytest.raises(NotFound):
        archiving.export_thread(session, "ND-2099-001", tmp_path, gateway.settings.tz)


def test_the_daemon_jobs_archive_and_purge_on_schedule(tmp_path):
    now = [MONDAY]
    gateway = offline_gateway(tmp_path, archive={"purge_at": "03:00:00"},
                              metrics={"textfile": str(tmp_path / "gateway.prom")})
    gateway.clock = lambda: now[0]
    with gateway.sessions.begin() as session:
        closed_record(session, closed_at=MONDAY - timedelta(days=7))
    jobs = Jobs(gateway)
    jobs.minutely()
    with gateway.sessions() as session:
        assert session.get(Record, "NX-2026-001").archive_id == "ND-2026-001"
        assert session.scalar(select(Mail.raw).limit(1))  # a fresh archive is not purged
    prom = (tmp_path / "gateway.prom").read_text()
    assert "gateway_records_total 1" in prom
    assert 'gateway_errors_total{kind="dead_letter"} 0' in prom
    now[0] = MONDAY + timedelta(days=400)
    jobs.minutely()
    with gateway.sessions() as session:
        assert session.get(Record, "NX-2026-001").purged_at == now[0]
    gateway.close()


@pytest.mark.parametrize(("section", "message"), [
    ({"delay": "soon"}, "archive.delay: cannot read 'soon' as a duration"),
    ({"retention_years": {"secret": 3}}, "archive.retention_years.secret"),
    ({"default_class": "重要"}, "archive.default_class"),
])
def test_archive_settings_are_checked_at_load(section, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(None, overrides={"archive": section})


def test_the_routing_rule_gives_a_regulator_letter_the_important_class(gateway):
    raw = gbk_mail(subject="关于产品标签合规检查的通知", sender=("监管处", "inspect@samr.gov.cn"),
                   message_id="label-1@samr.gov.cn")
    result = gateway.ingest(FetchedMail("test:1", raw, len(raw)))
    with gateway.sessions() as session:
        record = session.get(Record, result.record_id)
        assert (record.rule_name, record.archive_class) == ("监管来文转质量部", "important")
        assert record.rule_file == "routing.toml" and record.rule_version == gateway.rules.version
