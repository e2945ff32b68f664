"""Live rules: edited files reload, broken ones are reported once and the last good set stays."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mailmaker import GATEWAY, gbk_mail
from paths import ROOT
from sqlalchemy import create_engine, select

from gateway.db.models import Record
from gateway.model import Address
from gateway.outgoing.render import Renderer, sample_context
from gateway.routing.load import load_rules
from gateway.runtime.reload import Watcher

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ADMIN = "it-admin@corp.example"
SAMPLE_RULE = """
[[rule]]
name = "样品转研发部"
description = "Sample shipments go to 研发部, whatever department the subject names."
subject_keywords = ["样品"]
department = "研发部"
override_tag = true
"""


@pytest.fixture
def folders(tmp_path):
    rules, templates = tmp_path / "rules", tmp_path / "templates"
    shutil.copytree(ROOT / "rules", rules)
    shutil.copytree(ROOT / "templates", templates)
    return rules, templates


def toml(sections: dict) -> str:
    # JSON scalars and arrays of them are valid TOML values.
    return "".join(f"[{name}]\n" + "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n"
                                           for k, v in values.items())
                   for name, values in sections.items())


@contextmanager
def daemon_process(config: Path, imap_password: str) -> Iterator[subprocess.Popen]:
    """`gateway run` as systemd would start it; killed if the test leaves it running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "--config", str(config), "run"],
        cwd=config.parent, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TEST_IMAP_PASSWORD": imap_password})
    process.log = []  # stderr's lines, read as they come so the test can wait for one
    reader = threading.Thread(target=lambda: process.log.extend(
        line.decode() for line in process.stderr), daemon=True)
    reader.start()
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(timeout=10)


def wait_for_line(process: subprocess.Popen, text: str, timeout: float = 30) -> None:
    """Until the daemon has logged `text`: start-up takes longer on a busy machine."""
    deadline = time.monotonic() + timeout
    while not any(text in line for line in process.log):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"daemon never logged {text!r}: {''.join(process.log)}")
        time.sleep(0.05)


def edit(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    # Some filesystems keep a coarse mtime; the size or a nudge makes the edit visible.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


class Harness:
    def __init__(self, rules: Path, templates: Path):
        self.rules = load_rules(rules)
        self.reports: list[list[str]] = []
        self.renderer = Renderer(templates, domain="gateway.corp.example",
                                 from_addr=Address("网关", GATEWAY))
        self.watcher = Watcher(rules, templates, self.renderer, self.install,
                               lambda digest, problems, now: self.reports.append(problems))
        self.watcher.check(NOW)

    def install(self, rules) -> None:
        self.rules = rules

    def check(self) -> list[str]:
        """Two looks, as the daemon makes: the first only notes that the files changed."""
        assert self.watcher.check(NOW) == []
        return self.watcher.check(NOW)


def test_a_valid_edit_is_installed(folders):
    rules, templates = folders
    harness = Harness(rules, templates)
    before = harness.rules.version
    routing = rules / "routing.toml"
    edit(routing, routing.read_text(encoding="utf-8") + SAMPLE_RULE)
    assert harness.check() == []
    assert harness.rules.version != before
    assert harness.rules.rules[-1].name == "样品转研发部"


def test_a_broken_rule_file_is_reported_once_with_its_line_and_the_old_set_stays(folders):
    rules, templates = folders
    harness = Harness(rules, templates)
    good = harness.rules
    routing = rules / "routing.toml"
    text = routing.read_text(encoding="utf-8")
    broken = text + '\n[[rule]]\nname = "坏"\ndescription = "x"\ndepartment = "不存在部"\n'
    line = broken.splitlines().index('department = "不存在部"') + 1
    edit(routing, broken)
    problems = harness.check()
    assert problems and problems[0].startswith(f"routing.toml:{line}: ")
    assert harness.rules is good
    edit(routing, broken)  # touched again, same content: no second report
    harness.check()
    assert len(harness.reports) == 1
    edit(routing, text + SAMPLE_RULE)
    assert harness.check() == []
    assert harness.rules.rules[-1].name == "样品转研发部"


def test_a_file_still_being_written_is_not_judged(folders):
    rules, templates = folders
    harness = Harness(rules, templates)
    routing = rules / "routing.toml"
    text = routing.read_text(encoding="utf-8")
    edit(routing, text[: len(text) // 2])  # half saved
    assert harness.watcher.check(NOW) == []
    edit(routing, text + SAMPLE_RULE)  # the save completes before the next look
    assert harness.watcher.check(NOW) == []
    assert harness.watcher.check(NOW) == []
    assert harness.reports == [] and harness.rules.rules[-1].name == "样品转研发部"


def test_a_broken_template_is_reported_and_the_last_good_template_still_renders(folders):
    rules, templates = folders
    harness = Harness(rules, templates)
    edit(templates / "ack.txt.j2", "您好 {{ record.id \n")
    problems = harness.check()
    assert problems and problems[0].startswith("ack.txt.j2:1: ")
    out = harness.renderer.render("ack", to=(Address("", "a@b.example"),),
                                  context=sample_context(),
                                  now=NOW)
    assert b"NX-2026-001" in out.raw  # the snapshot taken before the edit


@pytest.mark.integration
def test_running_daemon_reloads_a_broken_then_fixed_rule_file(
    tmp_path, folders, imap_account, imap_append, smtp_capture
):
    rules, templates = folders
    config = tmp_path / "config.toml"
    config.write_text(toml({
        "gateway": {"domain": "gateway.corp.example", "internal_domains": ["corp.example"],
                    "rules_dir": str(rules), "templates_dir": str(templates),
                    "storage_dir": "storage", "admin_address": ADMIN},
        "mailbox": {"kind": "imap", "host": imap_account.host, "port": imap_account.port,
                    "tls": "none", "user": imap_account.user,
                    "password_env": "TEST_IMAP_PASSWORD", "idle": False, "poll_interval": 0.2},
        "smtp": {"host": "127.0.0.1", "port": smtp_capture.port, "tls": "none",
                 "from": f"信息交流网关 <{GATEWAY}>"},
        "reload": {"interval": 0.2},
    }), encoding="utf-8")
    routing = rules / "routing.toml"
    text = routing.read_text(encoding="utf-8")
    with daemon_process(config, imap_account.password) as daemon:
        wait_for_line(daemon, "gateway running")  # the rule files' baseline is taken by then
        edit(routing, text + '\n[[rule]]\nname = "坏"\ndepartment = "不存在部"\n')
        alert = smtp_capture.wait_for(1, timeout=20)[0]
        assert list(alert.rcpt_tos) == [ADMIN]
        body = email.message_from_bytes(alert.raw, policy=email.policy.default)
        assert "routing.toml:" in body.get_body().get_content()
        time.sleep(1.0)  # several more looks at the unchanged broken file
        edit(routing, text + SAMPLE_RULE)
        time.sleep(1.0)
        imap_append(gbk_mail(subject="生产部-样品寄送地址变更", message_id="sample-1@customer.example"))
        captured = smtp_capture.wait_for(3, timeout=20)
        assert [list(m.rcpt_tos) for m in captured].count([ADMIN]) == 1  # once per change
        assert any("rd@corp.example" in m.rcpt_tos for m in captured)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0
    log = "".join(daemon.log)
    assert "rule reload refused" in log and "rules and templates reloaded" in log
    engine = create_engine(f"sqlite:///{tmp_path / 'storage' / 'gateway.sqlite3'}")
    with engine.connect() as conn:
        rule, version = conn.execute(select(Record.rule_name, Record.rule_version)).one()
    engine.dispose()
    assert rule == "样品转研发部"
    assert version == load_rules(rules).version
