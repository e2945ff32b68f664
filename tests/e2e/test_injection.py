"""Injection: mail content never becomes headers, markup, template code, paths, or log secrets."""

from __future__ import annotations

import base64
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from crashrig import CrashRig
from servers import SmtpCapture

from gateway.model import FetchedMail

pytestmark = pytest.mark.integration


def b64word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def hostile_mail(name: str, subject: str, attachment: str | None = None) -> bytes:
    text = MIMEText("正文 <b>bold</b> {{ 7*7 }}", "plain", "utf-8")
    message = text
    if attachment is not None:
        message = MIMEMultipart()
        message.attach(text)
        part = MIMEApplication(b"#!/bin/sh\nrm -rf /\n")
        part.add_header("Content-Disposition", "attachment", filename=attachment)
        message.attach(part)
    message["From"] = f"{b64word(name)} <wang@customer.example>"
    message["To"] = "gateway@corp.example"
    message["Subject"] = b64word(subject)
    message["Message-ID"] = "<inject-1@customer.example>"
    return message.as_bytes()


def run(gateway, smtp_capture, raw: bytes):
    gateway.ingest(FetchedMail(key="x", raw=raw, size=len(raw)))
    gateway.flush()
    captured = smtp_capture.wait_for(2)
    return {("ack" if m.rcpt_tos == ("wang@customer.example",) else "notify"): m
            for m in captured}


def test_line_breaks_in_names_and_subjects_never_reach_outgoing_headers(
        gateway, smtp_capture):
    mails = run(gateway, smtp_capture, hostile_mail(
        "Evil\r\nBcc: victim@evil.example", "hi\r\nBcc: victim@evil.example\r\n\r\nbody"))
    for captured in mails.values():
        head = captured.raw.split(b"\r\n\r\n", 1)[0]
        lines = head.split(b"\r\n")
        assert not any(line.lower().startswith(b"bcc") for line in lines)
        assert "victim@evil.example" not in captured.rcpt_tos
        assert captured.message["Bcc"] is None
    ack = mails["ack"].message
    # Re-encoded: the name is one quoted string now, its line break gone.
    assert [(a.display_name, a.addr_spec) for a in ack["To"].addresses] == [
        ("Evil Bcc: victim@evil.example", "wang@customer.example")]
    to_line = next(line for line in mails["ack"].raw.split(b"\r\n") if line.startswith(b"To:"))
    assert to_line == b'To: "Evil Bcc: victim@evil.example" <wang@customer.example>'
    assert "\n" not in ack["Subject"] and "Bcc: victim" in ack["Subject"]


def test_html_from_a_mail_is_escaped_and_template_syntax_stays_text(
        gateway, smtp_capture):
    mails = run(gateway, smtp_capture, hostile_mail("<img src=x onerror=alert(1)>",
                                                    "<script>alert(1)</script> {{ 7*7 }}"))
    for captured in mails.values():
        html = captured.message.get_body(("html",))
        if html is None:
            continue
        content = html.get_content()
        assert "<script>" not in content and "<img" not in content
        assert "&lt;script&gt;" in content
    plain = mails["ack"].message.get_body(("plain",)).get_content()
    assert "{{ 7*7 }}" in plain and "49" not in plain


def test_attachment_names_stay_names_and_nothing_is_written_outside_storage(
        gateway, smtp_capture, tmp_path):
    before = {p for p in tmp_path.rglob("*")}
    mails = run(gateway, smtp_capture, hostile_mail("王工", "附件", "../../../../tmp/evil.sh"))
    created = {p for p in tmp_path.rglob("*")} - before
    storage = tmp_path / "storage"
    assert all(p.is_relative_to(storage) for p in created), created
    assert not any("evil" in p.name for p in created)
    notify = mails["notify"].message
    names = [part.get_filename() for part in notify.iter_attachments()]
    assert names == ["original.eml"]  # the only file name we write is our own


def test_passwords_never_appear_in_the_log_of_a_full_verbose_run(tmp_path, imap_account):
    smtp_password = "smtp-pass-3141"
    with SmtpCapture(credentials=("gateway", smtp_password)) as smtp:
        rig = CrashRig(tmp_path, imap_account, smtp,
                       extra='user = "gateway"\npassword_env = "TEST_SMTP_PASSWORD"\n',
                       env={"TEST_SMTP_PASSWORD": smtp_password})
        rig.start("", "--verbose")
        try:
            rig.append(2)
            assert rig.wait_settled(30), rig.log_text()
            assert len(smtp.messages) == 4  # AUTH worked: the password was really used
        finally:
            rig.kill()
    log = rig.log_text()
    assert "DEBUG" in log and "Logged in as" in log  # IMAPClient's own lines, not imaplib's
    assert "FETCH (" not in log  # imaplib's trace, each mail's bytes with it, is never made
    for secret in (imap_account.password, smtp_password):
        assert secret not in log
        assert base64.b64encode(secret.encode()).decode() not in log
    assert base64.b64encode(f"\0gateway\0{smtp_password}".encode()).decode() not in log


