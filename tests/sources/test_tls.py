"""TLS: certificates verified by default for IMAP and SMTP, a CA file makes a private CA
trusted, and plaintext only when the config says tls = "none"."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

import pytest
from servers import Dovecot, SmtpCapture, dovecot_available, require

from gateway.config import load_settings
from gateway.errors import MailboxError, SmtpTemporaryError
from gateway.outbox.sender import OutboxSender
from gateway.sources.factory import imap_settings
from gateway.sources.imap import ImapSource

pytestmark = pytest.mark.integration

USER, PASSWORD = "tls@example.test", "tls-secret"


@pytest.fixture(scope="module")
def certificate():
    """A self-signed certificate for 127.0.0.1, made by openssl: (cert, key) paths."""
    require(None if shutil.which("openssl") else "openssl not installed")
    folder = Path(tempfile.mkdtemp(prefix="gateway-tls-"))
    folder.chmod(0o755)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    yield cert, key
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_dovecot(certificate):
    require(dovecot_available())
    base = Path(tempfile.mkdtemp(prefix="gateway-dovecot-tls-"))
    server = Dovecot(base, {USER: PASSWORD}, tls=certificate).start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def imap_source(dovecot, monkeypatch, tls: str, ca_file=None) -> ImapSource:
    monkeypatch.setenv("TLS_IMAP_PASSWORD", PASSWORD)
    mailbox = {"kind": "imap", "host": "127.0.0.1", "tls": tls, "user": USER,
               "password_env": "TLS_IMAP_PASSWORD",
               "port": dovecot.ssl_port if tls == "ssl" else dovecot.port}
    if ca_file:
        mailbox["ca_file"] = str(ca_file)
    settings = load_settings(None, overrides={"mailbox": mailbox})
    return ImapSource(imap_settings(settings, timeout=10), lambda: None, lambda point: None)


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_imap_refuses_an_unknown_certificate_and_trusts_it_with_ca_file(
        tls_dovecot, certificate, monkeypatch, tls):
    untrusting = imap_source(tls_dovecot, monkeypatch, tls)
    with pytest.raises(MailboxError, match="CERTIFICATE_VERIFY_FAILED|certificate verify"):
        untrusting.check()
    trusting = imap_source(tls_dovecot, monkeypatch, tls, ca_file=certificate[0])
    try:
        trusting.check()
        assert trusting.fetch() == []
    finally:
        trusting.close()


def smtp_sender(port: int, tls: str, ca_file=None) -> OutboxSender:
    smtp = {"host": "127.0.0.1", "port": port, "tls": tls, "timeout": 10}
    if ca_file:
        smtp["ca_file"] = str(ca_file)
    return OutboxSender(None, load_settings(None, overrides={"smtp": smtp}).smtp, None)


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_smtp_refuses_an_unknown_certificate_and_trusts_it_with_ca_file(certificate, tls):
    context = server_context(certificate)
    options = ({"ssl_context": context} if tls == "ssl"
               else {"tls_context": context, "require_starttls": True})
    with SmtpCapture(**options) as server:
        with pytest.raises(SmtpTemporaryError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
            smtp_sender(server.port, tls).check()
        smtp_sender(server.port, tls, ca_file=certificate[0]).check()


def test_smtp_starttls_never_falls_back_to_plaintext_when_the_server_lacks_it(smtp_capture):
    with pytest.raises(SmtpTemporaryError, match="STARTTLS|starttls"):
        smtp_sender(smtp_capture.port, "starttls").check()
    smtp_sender(smtp_capture.port, "none").check()  # plaintext: only when the config says so


def test_tls_is_the_default_and_plaintext_must_be_asked_for():
    settings = load_settings(None, overrides={"mailbox": {"kind": "imap", "user": "u"}})
    assert settings.mailbox.tls == "ssl" and settings.smtp.tls == "starttls"
    assert settings.mailbox.effective_port == 993 and settings.smtp.effective_port == 587
    assert imap_settings(settings).verify is True


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_gateway_check_names_the_tls_step_when_the_certificate_is_unknown(
        tls_dovecot, certificate, monkeypatch, tls):
    from gateway.runtime.check import run_steps

    monkeypatch.setenv("TLS_IMAP_PASSWORD", PASSWORD)
    mailbox = {"kind": "imap", "host": "127.0.0.1", "tls": tls, "user": USER,
               "password_env": "TLS_IMAP_PASSWORD",
               "port": tls_dovecot.ssl_port if tls == "ssl" else tls_dovecot.port}
    untrusting = load_settings(None, overrides={"mailbox": mailbox})
    steps = {s.name: s for s in run_steps(untrusting) if s.name.startswith("mailbox")}
    assert steps["mailbox tls"].failed
    assert "certificate verify failed" in steps["mailbox tls"].detail.lower()
    assert steps["mailbox login"].state == "skip"
    trusting = load_settings(None, overrides={"mailbox": {**mailbox,
                                                          "ca_file": str(certificate[0])}})
    steps = {s.name: s for s in run_steps(trusting) if s.name.startswith("mailbox")}
    assert [s.state for s in steps.values()] == ["ok"] * 4, [str(s) for s in steps.values()]
    assert "certificate verified" in steps["mailbox tls"].detail


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_a_pipelined_transaction_runs_over_tls(certificate, tls):
    import asyncio

    import aiosmtplib

    from gateway.outbox.transaction import send_one

    context = server_context(certificate)
    options = ({"ssl_context": context} if tls == "ssl"
               else {"tls_context": context, "require_starttls": True})
    raw = b"Subject: tls\r\n\r\n.dot first\r\nend\r\n"
    with SmtpCapture(**options) as server:
        async def run():
            trust = ssl.create_default_context(cafile=str(certificate[0]))
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port, timeout=10,
                                     use_tls=tls == "ssl", start_tls=tls == "starttls",
                                     tls_context=trust)
            await client.connect()
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()
            assert client.supports_extension("pipelining")
            for _ in range(2):  # the connection is handed back to aiosmtplib between mails
                assert await send_one(client, "gw@corp.example", [], ("a@corp.example",),
                                      raw) == []
            await client.quit()

        asyncio.run(run())
        assert [m.raw for m in server.wait_for(2)] == [raw, raw]
