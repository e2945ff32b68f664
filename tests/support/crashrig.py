"""A real `gateway run` subprocess against Dovecot and an SMTP capture, killed and restarted
on purpose; used by tests/e2e/test_crash.py and bench/crash.py."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from pathlib import Path

from paths import ROOT
from servers import ImapAccount, SmtpCapture

PASSWORD_ENV = "CRASH_IMAP_PASSWORD"
FAULT_EXIT = 86  # gateway.faults.FAULT_EXIT; not imported so the rig stays outside the package


def crash_mail(n: int) -> bytes:
    message = MIMEText(f"第{n}号设备故障, 请安排维修。", "plain", "utf-8")
    message["From"] = formataddr(("王工", f"customer{n}@customer.example"))
    message["To"] = "gateway@corp.example"
    message["Subject"] = f"【紧急】生产部-设备故障 {n}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<crash-{n}@customer.example>"
    return message.as_bytes()


@dataclass
class Figures:
    mails: int
    records: int  # distinct mails of the campaign that have a stored inbound row
    missing: int  # appended mails without a stored row: lost
    doubled: int  # mails stored twice (the unique key makes this 0 unless broken)
    filed: int  # mails filed in Processed/Quarantine
    left_in_inbox: int
    queued: int  # outgoing mails the gateway stored
    sent: int  # distinct outgoing Message-IDs the SMTP server received
    unsent: int  # stored outgoing mails the server never received: lost acks
    duplicates: int  # extra copies the SMTP server received
    most_copies: int  # the most copies of any one mail the SMTP server received
    strangers: int  # received Message-IDs the database does not know (a twin with a new id)

    @property
    def lost(self) -> int:
        return self.missing + self.unsent


class CrashRig:
    # extra: TOML appended to the config; lines before a [table] header land in [smtp].
    def __init__(self, base: Path, account: ImapAccount, smtp: SmtpCapture, extra: str = "",
                 env: dict[str, str] | None = None):
        self.base = Path(base)
        self.account, self.smtp = account, smtp
        self.base.mkdir(parents=True, exist_ok=True)
        self.config = self.base / "gateway.toml"
        self.database = self.base / "storage" / "gateway.sqlite3"
        self.log_path = self.base / "daemon.log"
        self.process: subprocess.Popen | None = None
        self.appended: list[str] = []
        self.env = dict(env or {})
        self.exits: list[int] = []
        self.config.write_text(self._config_text() + extra, encoding="utf-8")

    def _config_text(self) -> str:
        a, s = self.account, self.smtp
        return f"""
[gateway]
domain = "gateway.corp.example"
internal_domains = ["corp.example"]
rules_dir = "{ROOT / 'rules'}"
templates_dir = "{ROOT / 'templates'}"
storage_dir = "{self.base / 'storage'}"
admin_address = "it-admin@corp.example"

[mailbox]
kind = "imap"
host = "{a.host}"
port = {a.port}
tls = "none"
user = "{a.user}"
password_env = "{PASSWORD_ENV}"
poll_interval = 0.5
batch = 20

[smtp]
host = "{s.host}"
port = {s.port}
tls = "none"
from = "信息交流网关 <gateway@corp.example>"
backoff_initial = 0.5
backoff_max = 2
"""

    # --- the mailbox ------------------------------------------------------------------------

    def append(self, count: int) -> None:
        with self.account.connect() as client:
            for _ in range(count):
                n = len(self.appended)
                client.append("INBOX", crash_mail(n))
                self.appended.append(f"crash-{n}@customer.example")

    # --- the daemon ---------------------------------------------------------------------------

    def start(self, faults: str = "", *options: str) -> subprocess.Popen:
        assert self.process is None or self.process.poll() is not None
        env = {**os.environ, "PYTHONPATH": str(ROOT), PASSWORD_ENV: self.account.password,
               **self.env}
        env.pop("GATEWAY_FAULTS", None)
        if faults:
            env["GATEWAY_FAULTS"] = faults
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "--config", str(self.config), *options,
                 "run"],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )
        return self.process

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status, or None when still running after `timeout`."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.exits.append(code)
        return code

    def kill(self) -> None:
        """SIGKILL from outside: no handler, no cleanup, like a power cut of the process."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.exits.append(self.process.wait())

    # --- the database, read-only beside the running daemon -----------------------------------

    def _query(self, sql: str, *args) -> list[tuple]:
        if not self.database.exists():
            return []
        db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []  # schema not created yet
        finally:
            db.close()

    def stored(self) -> int:
        rows = self._query("SELECT count(*) FROM mails WHERE direction = 'in'")
        return rows[0][0] if rows else 0

    def pending(self) -> int:
        rows = self._query("SELECT count(*) FROM outbox WHERE status = 'pending'")
        return rows[0][0] if rows else 0

    def wait_settled(self, timeout: float) -> bool:
        """Until every appended mail is stored, filed away, and nothing waits to be sent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.stored() >= len(self.appended) and self.pending() == 0
                    and self._inbox_count() == 0):
                return True
            time.sleep(0.1)
        return False

    def _inbox_count(self) -> int:
        try:
            with self.account.connect() as client:
                return client.select_folder("INBOX", readonly=True)[b"EXISTS"]
        except Exception:  # noqa: BLE001 - the server may be restarting under a test
            return -1

    def figures(self) -> Figures:
        inbound = Counter(k for (k,) in self._query(
            "SELECT inbound_key FROM mails WHERE direction = 'in'"))
        expected = set(self.appended)
        outgoing = {m for (m,) in self._query(
            "SELECT message_id FROM mails WHERE direction = 'out'")}
        received = Counter(m.message["Message-ID"].strip("<>") for m in self.smtp.messages)
        with self.account.connect() as client:
            filed = sum(client.select_folder(f, readonly=True)[b"EXISTS"]
                        for f in ("Processed", "Quarantine"))
            inbox = client.select_folder("INBOX", readonly=True)[b"EXISTS"]
        return Figures(
            mails=len(expected),
            records=len(expected & set(inbound)),
            missing=len(expected - set(inbound)),
            doubled=sum(c - 1 for c in inbound.values() if c > 1),
            filed=filed,
            left_in_inbox=inbox,
            queued=len(outgoing),
            sent=len(outgoing & set(received)),
            unsent=len(outgoing - set(received)),
            duplicates=sum(c - 1 for c in received.values() if c > 1),
            most_copies=max(received.values(), default=0),
            strangers=len(set(received) - outgoing),
        )

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")
