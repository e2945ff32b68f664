"""SQLite takes one daemon: a second `gateway run` on the same file refuses to start."""

from __future__ import annotations

import time

import pytest
from clirun import gateway_cmd
from crashrig import PASSWORD_ENV, CrashRig

from gateway.runtime.single_node import DaemonLock

pytestmark = pytest.mark.integration


def _running(rig: CrashRig, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "gateway running" in rig.log_text():
            return True
        time.sleep(0.05)
    return False


def test_a_second_daemon_on_one_sqlite_file_refuses_with_one_line(tmp_path, imap_account,
                                                                   smtp_capture):
    first = CrashRig(tmp_path / "a", imap_account, smtp_capture)
    try:
        first.start()
        assert _running(first), first.log_text()
        second = gateway_cmd("run", config=first.config,
                             env={PASSWORD_ENV: imap_account.password}, timeout=30)
        message = second.stderr.decode().strip()
        assert second.returncode == 75, message
        assert message.count("\n") == 0, message
        assert message.startswith(f"gateway: another gateway daemon (pid {first.process.pid} on ")
        assert str(first.database) in message and "PostgreSQL" in message
        health = gateway_cmd("health", config=first.config,
                             env={PASSWORD_ENV: imap_account.password}).stdout.decode()
        assert f"ok nodes: single node (SQLite): pid {first.process.pid} on " in health

        first.kill()  # SIGKILL: the kernel drops the lock, a restart is not kept out
        first.start()
        assert first.wait_exit(3) is None, first.log_text()
    finally:
        first.kill()


def test_the_lock_is_free_again_once_released(tmp_path):
    lock = DaemonLock(tmp_path / "gateway.sqlite3.lock")
    assert lock.holder() is None
    lock.take()
    assert lock.holder().startswith("pid ")
    lock.release()
    assert lock.holder() is None
    again = DaemonLock(tmp_path / "gateway.sqlite3.lock")
    again.take()
    again.release()
