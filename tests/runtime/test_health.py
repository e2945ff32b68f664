"""`gateway health` against real servers: zero when all is well, 69 and the reason otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from servers import free_port

from gateway.cli.main import main
from gateway.config import load_settings
from gateway.db import outbox
from gateway.runtime.assembly import Gateway
from gateway.runtime.health import UNHEALTHY

pytestmark = pytest.mark.integration


@pytest.fixture
def config(tmp_path, imap_account, smtp_capture, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", imap_account.password)

    def write(imap_port=imap_account.port, smtp_port=smtp_capture.port, storage="storage"):
        path = tmp_path / "gateway.toml"
        path.write_text(f"""
[gateway]
storage_dir = "{storage}"
[mailbox]
kind = "imap"
host = "{imap_account.host}"
port = {imap_port}
tls = "none"
user = "{imap_account.user}"
password_env = "TEST_IMAP_PASSWORD"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
[health]
outbox_stuck_minutes = 30
timeout = 3
""", encoding="utf-8")
        settings = load_settings(path)
        if storage == "storage":
            Gateway(settings).close()  # creates and migrates the database
        return path, settings

    return write


def health(path, capsys) -> tuple[int, str]:
    code = main(["--config", str(path), "health"])
    return code, capsys.readouterr().out


def test_all_reachable_is_healthy(config, capsys):
    path, _ = config()
    code, out = health(path, capsys)
    assert code == 0, out
    assert [line.split()[:2] for line in out.splitlines()] == [
        ["ok", "database:"], ["ok", "outbox:"], ["ok", "mailbox:"], ["ok", "smtp:"],
        ["ok", "nodes:"]]
    assert "ok nodes: single node (SQLite): no daemon running" in out


def test_unreachable_smtp_is_unhealthy_and_named(config, capsys):
    path, _ = config(smtp_port=free_port())
    code, out = health(path, capsys)
    assert code == UNHEALTHY
    assert "FAIL smtp:" in out and "ok mailbox:" in out


def test_unreachable_mailbox_is_unhealthy_and_named(config, capsys, imap_account):
    path, _ = config(imap_port=free_port())
    code, out = health(path, capsys)
    assert code == UNHEALTHY
    assert "FAIL mailbox:" in out and imap_account.password not in out


def test_missing_database_is_unhealthy_and_not_created(config, capsys, tmp_path):
    path, settings = config(storage="nowhere")
    code, out = health(path, capsys)
    assert code == UNHEALTHY and "FAIL database:" in out
    assert not (tmp_path / "nowhere" / "gateway.sqlite3").exists()


def test_outbox_with_an_old_pending_mail_is_stuck(config, capsys):
    path, settings = config()
    gateway = Gateway(settings)
    with gateway.sessions.begin() as session:
        outbox.enqueue(session, message_id="old@gateway.localhost", kind="ack", raw=b"x",
                       subject="old", envelope_from="gateway@localhost", recipients=["a@b.example"],
                     record=None, now=datetime.now(UTC) - timedelta(hours=2))
    gateway.close()
    code, out = health(path, capsys)
    assert code == UNHEALTHY
    assert "FAIL outbox: stuck" in out and "1 pending" in out
