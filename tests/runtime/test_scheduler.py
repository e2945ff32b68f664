"""The daemon's periodic jobs: the report mail to managers, the Prometheus textfile."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest
from recordmaker import MONDAY, add_record, offline_gateway
from sqlalchemy import select

from gateway.db.models import Mail, Outbox
from gateway.reports import metrics
from gateway.runtime.scheduler import Jobs
from gateway.usecases import reporting

MANAGERS = ["boss@corp.example", "deputy@corp.example"]


@pytest.fixture
def jobs(tmp_path):
    now = [datetime(2026, 11, 30, 0, 30, tzinfo=UTC)]  # Monday 08:30 in Shanghai
    gateway = offline_gateway(tmp_path, reports={
        "recipients": MANAGERS, "schedule": ["weekly", "monthly"], "send_at": "09:00:00"})
    gateway.clock = lambda: now[0]
    with gateway.sessions.begin() as session:
        add_record(session, first_response_at=MONDAY + timedelta(hours=1), rating=5)
    jobs = Jobs(gateway)
    jobs.now = now
    yield jobs
    gateway.close()


def report_mails(gateway):
    with gateway.sessions() as session:
        return session.execute(select(Mail.raw, Outbox.recipients, Outbox.status)
                               .join(Outbox, Outbox.mail_id == Mail.id)
                               .where(Mail.kind == "report").order_by(Mail.id)).all()


def test_reports_wait_for_send_time_then_go_once_per_period(jobs):
    # 08:30 on the Monday after W48: the week's report waits for 09:00; October's is overdue.
    assert jobs.reports(jobs.now[0]) == ["2026-10"]
    jobs.now[0] += timedelta(hours=1)
    assert jobs.reports(jobs.now[0]) == ["2026-W48"]
    assert jobs.reports(jobs.now[0] + timedelta(hours=3)) == []
    rows = report_mails(jobs.gateway)
    assert len(rows) == 2
    raw, recipients, status = rows[1]
    assert recipients == MANAGERS and status == "pending"
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "效果评估报告 2026-W48"
    assert "新建 1" in message.get_body(("plain",)).get_content()
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "report-2026-W48.html"
    assert "data:image/png;base64," in attachment.get_content()


def test_no_recipients_means_no_report_mail(tmp_path):
    gateway = offline_gateway(tmp_path, reports={"schedule": ["weekly"]})
    assert Jobs(gateway).reports(datetime(2026, 11, 30, 4, tzinfo=UTC)) == []
    assert report_mails(gateway) == []
    gateway.close()


def test_metrics_text_is_prometheus_exposition_format():
    values = {m.name: 0 for m in metrics.METRICS}
    values["gateway_records_total"] = 7
    values["gateway_errors_total"] = {"quarantined": 2, "dead_letter": 1}
    text = metrics.render(values)
    assert "# TYPE gateway_records_total counter\ngateway_records_total 7\n" in text
    assert "# TYPE gateway_outbox_queue_depth gauge" in text
    assert 'gateway_errors_total{kind="dead_letter"} 1\n' in text
    assert text.endswith("\n") and all(
        line.startswith("#") or len(line.split(" ")) == 2 for line in text.splitlines())


def test_metrics_count_the_register(jobs):
    gateway = jobs.gateway
    with gateway.sessions.begin() as session:
        add_record(session, created=MONDAY, due_at=MONDAY + timedelta(hours=1), mails=2)
    with gateway.sessions() as session:
        values = reporting.metric_values(session, MONDAY + timedelta(hours=2))
    assert values["gateway_records_total"] == 2
    assert values["gateway_mails_in_total"] == 1  # of the two, one in and one out
    assert values["gateway_breaches_total"] == 1  # the second is overdue, the first answered
    assert values["gateway_outbox_queue_depth"] == 0
