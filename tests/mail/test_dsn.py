"""Delivery reports read back to the original Message-ID: DSN (RFC 3464) and MDN (RFC 8098)."""

from __future__ import annotations

import pytest

from gateway.mail.dsn import read_report


def report(kind: str, fields: str, tail: str = "") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example\r\nTo: gw@corp.example\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type={kind}; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nreport\r\n"
        f"--B\r\nContent-Type: message/{kind}\r\n\r\n{fields}\r\n{tail}--B--\r\n").encode()


HEADERS_PART = ("--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
                "Message-ID: <NB-2026-001.transmit.1@gw.example>\r\nSubject: x\r\n\r\n")
RFC822_PART = ("--B\r\nContent-Type: message/rfc822\r\n\r\n"
               "Message-ID: <NB-2026-001.transmit.1@gw.example>\r\nSubject: x\r\n\r\nbody\r\n")


@pytest.mark.parametrize(("fields", "tail", "expected"), [
    ("Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; A@Supplier.example\r\n"
     "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n",
     HEADERS_PART, [("a@supplier.example", "failed", "5.1.1", "550 5.1.1 no such user")]),
    ("Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; a@x.example\r\nAction: delayed\r\n"
     "Status: 4.4.7\r\n\r\nOriginal-Recipient: rfc822; b@x.example\r\nAction: delivered\r\n"
     "Status: 2.0.0\r\n", RFC822_PART,
     [("a@x.example", "delayed", "4.4.7", ""), ("b@x.example", "delivered", "2.0.0", "")]),
])
def test_a_dsn_names_each_recipient_and_the_original(fields, tail, expected):
    found = read_report(report("delivery-status", fields, tail))
    assert found.kind == "dsn"
    assert found.original_message_id == "NB-2026-001.transmit.1@gw.example"
    assert [(r.addr, r.action, r.status, r.diagnostic) for r in found.recipients] == expected


def test_an_mdn_names_the_disposition_and_the_original():
    found = read_report(report(
        "disposition-notification",
        "Reporting-UA: x; Foxmail\r\nFinal-Recipient: rfc822; a@x.example\r\n"
        "Original-Message-ID: <NB-2026-001.transmit.1@gw.example>\r\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\r\n"))
    assert found.kind == "mdn" and found.original_message_id == "NB-2026-001.transmit.1@gw.example"
    assert [(r.addr, r.action) for r in found.recipients] == [("a@x.example", "displayed")]


@pytest.mark.parametrize("raw", [
    b"From: a@x\r\nSubject: hi\r\n\r\nplain",
    report("feedback-report", "Feedback-Type: abuse\r\n"),
])
def test_other_mail_is_no_report(raw):
    assert read_report(raw) is None
