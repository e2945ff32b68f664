"""The `gateway` command as admins and MTAs call it: real processes, real files, real sockets."""

from __future__ import annotations

import json
import mailbox
import os
import signal
import subprocess
import sys
import time

import pytest
from clirun import gateway_cmd, write_config
from mailmaker import gbk_mail
from paths import ROOT


@pytest.fixture
def config(tmp_path, smtp_capture):
    return write_config(tmp_path, smtp_capture.port)


def test_ingest_from_stdin_stores_a_record_and_sends(config, smtp_capture):
    done = gateway_cmd("ingest", config=config, stdin=gbk_mail())
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("created ")
    record_id = done.stdout.decode().split()[1]
    assert len(smtp_capture.wait_for(2)) == 2

    listed = json.loads(gateway_cmd("records", "list", "--json", config=config).stdout)
    assert [r["id"] for r in listed] == [record_id]
    row = listed[0]
    assert (row["urgency"], row["department"], row["title"]) == ("urgent", "生产部", "设备故障通知")
    assert row["from_addr"] == "wang@customer.example"
    assert row["status"] == "open" and row["created_at"] and row["due_at"]

    shown = json.loads(gateway_cmd("records", "show", record_id.lower(), "--json",
                                   config=config).stdout)
    assert shown["id"] == record_id
    assert [e["kind"] for e in shown["log"]][:2] == ["created", "routed"]
    text = gateway_cmd("records", "show", record_id, config=config).stdout.decode()
    assert "设备故障通知" in text and "沟通记录" in text


def test_ingest_of_garbage_is_quarantined_and_still_exits_zero(config):
    done = gateway_cmd("ingest", config=config, stdin=b"\x00\x01 garbage \xff")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("quarantined")


def test_ingest_fails_only_when_the_mail_cannot_be_stored(tmp_path, smtp_capture):
    config = write_config(tmp_path, smtp_capture.port)
    blocked = tmp_path / "storage"
    blocked.write_text("a file where the storage folder should be")
    done = gateway_cmd("ingest", config=config, stdin=gbk_mail())
    assert done.returncode != 0


def test_unknown_record_is_one_line(config):
    done = gateway_cmd("records", "show", "NX-1999-001", config=config)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == "gateway: no record NX-1999-001"


def test_wrong_setting_is_one_line_naming_the_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[smtp]\nport = 'twenty-five'\n")
    done = gateway_cmd("records", "list", config=config)
    assert done.returncode == 78
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "smtp.port" in lines[0]


def test_poll_once_processes_the_maildir(tmp_path, config, smtp_capture):
    box = mailbox.Maildir(tmp_path / "mailbox", create=True)
    box.add(gbk_mail(message_id="p1@customer.example"))
    box.add(gbk_mail("[URGENT] Production line stopped", message_id="p2@customer.example"))
    done = gateway_cmd("poll", "--once", config=config)
    assert done.returncode == 0, done.stderr.decode()
    assert "processed 2 mail(s); sent 4" in done.stdout.decode()
    again = gateway_cmd("poll", "--once", config=config)
    assert "processed 0 mail(s); sent 0" in again.stdout.decode()
    assert len(smtp_capture.messages) == 4


def test_rules_check_passes_on_the_shipped_rules(config):
    done = gateway_cmd("rules", "check", config=config)
    assert done.returncode == 0, done.stderr.decode()


def test_rules_check_reports_file_and_line(tmp_path, smtp_capture):
    rules = tmp_path / "rules"
    rules.mkdir()
    for shipped in (ROOT / "rules").glob("*.toml"):
        (rules / shipped.name).write_bytes(shipped.read_bytes())
    routing = rules / "routing.toml"
    routing.write_text(routing.read_text(encoding="utf-8") + "\n[[rule]]\nname = 'broken'\n"
                       "subject_regex = '(unclosed'\n", encoding="utf-8")
    broken_line = routing.read_text(encoding="utf-8").splitlines().index("[[rule]]", -0) + 1
    config = write_config(tmp_path, smtp_capture.port)
    config.write_text(config.read_text().replace(str(ROOT / "rules"), str(rules)))
    done = gateway_cmd("rules", "check", config=config)
    assert done.returncode == 65
    err = done.stderr.decode()
    assert "routing.toml:" in err
    assert broken_line > 0


def test_rules_test_prints_one_json_object_per_mail(tmp_path, config):
    first, second = tmp_path / "a.eml", tmp_path / "b.eml"
    first.write_bytes(gbk_mail())
    second.write_bytes(gbk_mail("Re: [NX-2026-007] 【特急】采购部-报价确认",
                                headers=(("Auto-Submitted", "auto-replied"),)))
    done = gateway_cmd("rules", "test", str(first), str(second), "--json", config=config)
    assert done.returncode == 0, done.stderr.decode()
    reports = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [r["urgency"] for r in reports] == ["urgent", "critical"]
    assert reports[0]["department"] == "生产部" and reports[0]["title"] == "设备故障通知"
    assert reports[1]["record_id"] == "NX-2026-007"
    assert [r["auto_reply"] for r in reports] == [False, True]
    assert reports[0]["decision"]["department"] == "生产部"
    human = gateway_cmd("rules", "test", str(first), config=config).stdout.decode()
    assert "生产部" in human


def test_demo_runs_without_config_or_servers(tmp_path):
    done = gateway_cmd("demo", "--dir", str(tmp_path / "demo"), timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    # six seed scenarios, a stranger's and an unknown department's records, one outside request
    # the enterprise starts; the follow-up, a participant's mail, the desk's reassignment, two
    # approvals and the supplier's answer thread in
    assert "created 10" in out and "appended 6" in out and "quarantined 1" in out
    assert "审核       " in out and "首次反馈: 王工您好" in out
    # A stranger's linked record, a participant heard, an unknown department reassigned.
    assert "关联记录   NX-2026-001" in out and "参与方来信" in out
    assert "来信所请部门: 物流部" in out and "改派部门" in out
    sent = mailbox.Maildir(tmp_path / "demo" / "sent", create=False)
    assert len(sent) >= 11  # 6 notifications + 5 acknowledgements (one sender is internal too)


@pytest.mark.integration
def test_daemon_answers_over_idle_and_stops_on_sigterm(tmp_path, imap_account, imap_append,
                                                       smtp_capture):
    config = write_config(tmp_path, smtp_capture.port, imap=imap_account)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TEST_IMAP_PASSWORD": imap_account.password}
    daemon = subprocess.Popen([sys.executable, "-m", "gateway.cli", "--config", str(config), "run"],
                              cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)  # let it reach IDLE, so the mail arrives by notification
        imap_append(gbk_mail())
        captured = smtp_capture.wait_for(2, timeout=20)
        assert len(captured) == 2
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    log = daemon.stderr.read().decode()
    assert "stopping" in log and "gateway stopped" in log
    assert imap_account.password not in log


def test_sla_deadline_prints_json_with_an_offset_and_skips_the_national_day_week():
    done = gateway_cmd("sla", "deadline", "--start", "2025-09-30T17:00+08:00",
                       "--urgency", "normal", "--json")
    assert done.returncode == 0, done.stderr.decode()
    data = json.loads(done.stdout)
    assert data["deadline"] == "2025-10-11T17:00:00+08:00"  # the make-up Saturday counts
    assert {"date": "2025-10-01", "why": "国庆节"} in data["skipped"]


def test_sla_deadline_refuses_an_unreadable_start_in_one_line():
    done = gateway_cmd("sla", "deadline", "--start", "tomorrow", "--urgency", "urgent")
    assert done.returncode == 64
    assert done.stderr.decode().strip() == "gateway: --start: not an ISO 8601 time: 'tomorrow'"


def test_sla_due_and_explain_show_the_chase(config, smtp_capture):
    assert gateway_cmd("ingest", config=config, stdin=gbk_mail()).returncode == 0
    due = gateway_cmd("sla", "due", "--json", config=config)
    assert due.returncode == 0, due.stderr.decode()
    rows = json.loads(due.stdout)
    assert {r["clock"] for r in rows} == {"response", "resolution"}
    record_id = rows[0]["id"]
    assert all(r["breached"] is False and r["working_time_left_s"] >= 0 for r in rows)
    explained = gateway_cmd("sla", "explain", record_id, config=config)
    assert explained.returncode == 0, explained.stderr.decode()
    text = explained.stdout.decode()
    assert "deadline: 24 hours" in text and "首次反馈到期提醒" in text
