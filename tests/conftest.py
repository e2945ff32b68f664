"""Shared fixtures: real servers on 127.0.0.1 (logic in support/servers.py), skipped or failed
when absent, and a gateway over them with a clock the test advances."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from mailmaker import GATEWAY, START
from paths import ROOT
from servers import (
    Dovecot,
    ImapAccount,
    SmtpCapture,
    append_uid,
    dovecot_available,
    require,
)

from gateway.config import load_settings
from gateway.runtime.assembly import Gateway

# Fixture modules in support/ (on the path by pyproject's pythonpath), one per concern;
# add new ones here.
pytest_plugins = ["dbfixtures", "oauthfixtures"]

PG_ENV = "GATEWAY_TEST_DATABASE_URL"
TEST_PASSWORD = "test-secret"
_user_numbers = itertools.count(1)


# --- IMAP (Dovecot) ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def dovecot():
    """One private Dovecot for the whole run; tests isolate themselves by user (imap_account)."""
    require(dovecot_available())
    base = Path(tempfile.mkdtemp(prefix="gateway-dovecot-"))  # /tmp: the dovecot user can enter
    server = Dovecot(base)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def imap_account(dovecot, request) -> ImapAccount:
    """A fresh mailbox (INBOX, Processed, Quarantine) that only this test uses."""
    if not dovecot.is_running:  # a test that stopped the server must not break the next one
        dovecot.start()
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    return dovecot.add_user(f"t{next(_user_numbers)}-{slug}@example.test", TEST_PASSWORD)


@pytest.fixture
def imap_append(imap_account):
    """append(raw, folder="INBOX", flags=()) -> UID, over a connection of the test's own."""
    client = None

    def append(raw: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> int:
        nonlocal client
        client = client or imap_account.connect()
        return append_uid(client.append(folder, raw, flags=flags))

    yield append
    if client is not None:
        # The test may have restarted the server under this connection.
        with contextlib.suppress(Exception):
            client.logout()


# --- SMTP (aiosmtpd) --------------------------------------------------------------------------

@pytest.fixture
def smtp_capture():
    """A fresh SMTP server that stores what it accepts; respond_with(451/550) for outages."""
    with SmtpCapture() as capture:
        yield capture


# --- PostgreSQL -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_url() -> str:
    """GATEWAY_TEST_DATABASE_URL; skipped when unset, a failure under CI when unreachable."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    require(_pg_unreachable(url))
    return url


def _pg_unreachable(url: str) -> str | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable" for the reason
        where = engine.url.render_as_string(hide_password=True)
        return f"{PG_ENV} is set but {where} is unreachable: {type(exc).__name__}"
    finally:
        engine.dispose()
    return None


# --- The gateway over these servers -----------------------------------------------------------

class Clock:
    """Time the tests advance by hand instead of sleeping."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def settings(tmp_path, imap_account, smtp_capture, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", imap_account.password)
    return load_settings(None, overrides={
        "gateway": {"domain": "gateway.corp.example", "internal_domains": ["corp.example"],
                    "rules_dir": str(ROOT / "rules"), "templates_dir": str(ROOT / "templates"),
                    "storage_dir": str(tmp_path / "storage")},
        "mailbox": {"kind": "imap", "host": imap_account.host, "port": imap_account.port,
                    "tls": "none", "user": imap_account.user,
                    "password_env": "TEST_IMAP_PASSWORD", "poll_interval": 0.2},
        "smtp": {"host": smtp_capture.host, "port": smtp_capture.port, "tls": "none",
                 "from": f"信息交流网关 <{GATEWAY}>", "backoff_initial": 60},
    })


@pytest.fixture
def gateway(settings, clock):
    gateway = Gateway(settings, clock=clock)
    yield gateway
    gateway.close()


@pytest.fixture
def source(gateway):
    source = gateway.make_source()
    yield source
    source.close()
