"""parse_mail: raw bytes to InboundMail, from clean Chinese mail to broken MIME."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from email.header import Header
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import ParseError
from gateway.mail.parse import parse_mail
from gateway.model import Address, Attachment, AutoKind, InboundMail

URGENT_SUBJECT = "【紧急】生产部-设备故障通知"
URGENT_BODY = "三号线设备故障，请尽快处理。\n联系人：张三"


def mail(headers: str, body: bytes = b"body\r\n", extra: bytes = b"") -> bytes:
    """Raw CRLF bytes from a header block written as text; `extra` adds raw header lines."""
    head = "\r\n".join(line.strip() for line in headers.strip().splitlines()).encode()
    return head + b"\r\n" + extra + b"\r\n" + body


BASE = """
From: Sender <sender@corp.example>
To: gateway@corp.example
Subject: hello
Message-ID: <m1@corp.example>
Date: Mon, 2 Mar 2026 09:30:00 +0800
"""


def test_foxmail_style_gbk_subject_and_body():
    subject = Header(URGENT_SUBJECT, "gbk").encode()
    raw = mail(f"""
        From: =?gbk?B?1cXI/Q==?= <ZhangSan@Corp.Example>
        To: =?gbk?B?yeixuLK/?= <shebei@corp.example>, "李四" <lisi@corp.example>
        Subject: {subject}
        Message-ID: <20260302093000.123@corp.example>
        Date: Mon, 2 Mar 2026 09:30:00 +0800
        X-Mailer: Foxmail 7.2.25.228[cn]
        MIME-Version: 1.0
        Content-Type: text/plain; charset="GB2312"
        Content-Transfer-Encoding: base64
        """, base64.encodebytes(URGENT_BODY.encode("gbk")))
    parsed = parse_mail(raw)
    assert isinstance(parsed, InboundMail)
    assert parsed.subject == URGENT_SUBJECT
    assert parsed.text == URGENT_BODY
    assert parsed.from_addr == Address("张三", "zhangsan@corp.example")
    assert parsed.to == (Address("设备部", "shebei@corp.example"),
                         Address("李四", "lisi@corp.example"))
    assert parsed.message_id == "20260302093000.123@corp.example"
    assert not parsed.message_id_synthetic
    assert parsed.date == datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    assert parsed.headers["x-mailer"] == "Foxmail 7.2.25.228[cn]"
    assert parsed.auto is None and parsed.defects == ()
    assert parsed.size == len(raw)


def test_outlook_style_8bit_gbk_headers_and_alternative_body():
    raw = (
        "From: 张三 <zs@corp.example>\r\nTo: 设备部 <shebei@corp.example>\r\n"
        f"Subject: 回复: {URGENT_SUBJECT}\r\nMessage-ID: <o1@corp.example>\r\n"
        "In-Reply-To: <orig@corp.example>\r\n"
        "References: <a@corp.example>\r\n <orig@corp.example>\r\n"
        "Thread-Topic: x\r\nX-Mailer: Microsoft Outlook 16.0\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=\"gb2312\"\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"{URGENT_BODY}\r\n"
        "--b1\r\nContent-Type: text/html; charset=\"gb2312\"\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        "<html><body><p>三号线设备故障</p></body></html>\r\n--b1--\r\n"
    ).encode("gbk")
    parsed = parse_mail(raw)
    assert parsed.subject == f"回复: {URGENT_SUBJECT}"
    assert parsed.from_addr == Address("张三", "zs@corp.example")
    assert parsed.text.strip() == URGENT_BODY
    assert "三号线设备故障" in parsed.html
    assert parsed.in_reply_to == ("orig@corp.example",)
    assert parsed.references == ("a@corp.example", "orig@corp.example")


def test_html_only_mail_becomes_text():
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@corp.example", "b@corp.example", "html"
    msg.set_content("<html><head><style>p {}</style></head><body><p>第一段&amp;</p>"
                    "<div>第二段<br>下一行</div><script>x()</script></body></html>",
                    subtype="html", charset="utf-8")
    parsed = parse_mail(msg.as_bytes())
    assert parsed.text == "第一段&\n\n第二段\n下一行"
    assert parsed.html.startswith("<html>")


def test_html_charset_from_meta_when_the_part_has_none():
    body = '<html><head><meta charset="gbk"></head><body>设备</body></html>'.encode("gbk")
    raw = mail(BASE + "Content-Type: text/html", body)
    assert parse_mail(raw).text == "设备"


def _with_attachment(filename: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@corp.example", "b@corp.example", "files"
    msg.set_content("见附件")
    msg.add_attachment(b"%PDF-1.4 data", maintype="application", subtype="pdf",
                       filename=filename)
    return msg.as_bytes()


def test_rfc2231_chinese_attachment_name():
    raw = _with_attachment("设备故障报告.pdf")
    assert b"filename*=utf-8''" in raw
    parsed = parse_mail(raw)
    assert parsed.text.strip() == "见附件"
    [attachment] = parsed.attachments
    assert attachment.filename == "设备故障报告.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(b"%PDF-1.4 data")


@pytest.mark.parametrize("disposition", [
    'attachment; filename="=?gb2312?B?yeixuLnK1c8ucGRm?="',
    "attachment; filename*=gb2312''%C9%E8%B1%B8%B9%CA%D5%CF.pdf",
    "attachment; filename*0*=gb2312''%C9%E8%B1%B8; filename*1*=%B9%CA%D5%CF.pdf",
])
def test_encoded_attachment_names(disposition):
    raw = mail(BASE + 'Content-Type: multipart/mixed; boundary="x"', (
        "--x\r\nContent-Type: text/plain\r\n\r\nsee\r\n"
        "--x\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: {disposition}\r\n\r\nJVBERg==\r\n--x--\r\n").encode())
    [attachment] = parse_mail(raw).attachments
    assert attachment.filename == "设备故障.pdf"
    assert attachment.size == 4


def test_raw_8bit_attachment_name_and_name_param():
    raw = mail(BASE + 'Content-Type: multipart/mixed; boundary="x"', (
        "--x\r\nContent-Type: text/plain\r\n\r\nsee\r\n"
        "--x\r\nContent-Type: application/msword; name=设备.doc\r\n\r\ndata\r\n--x--\r\n"
    ).encode())
    [attachment] = parse_mail(raw).attachments
    assert attachment == Attachment("设备.doc", "application/msword", 4)


def test_missing_message_id_is_synthetic_and_stable():
    raw = mail("From: a@corp.example\r\nSubject: no id")
    first, second = parse_mail(raw), parse_mail(raw)
    assert first.message_id_synthetic
    assert first.message_id == second.message_id
    assert first.message_id.endswith("@synthetic.invalid")
    assert len(first.message_id.partition("@")[0]) == 32
    assert "missing Message-ID" in first.defects
    assert parse_mail(raw + b"x").message_id != first.message_id


def _auto(extra: str = "", subject: str = "hello", sender: str = "sender@corp.example",
          content_type: str = "text/plain") -> InboundMail:
    head = (f"From: {sender}\r\nTo: gateway@corp.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <a@corp.example>\r\nContent-Type: {content_type}\r\n{extra}")
    return parse_mail(head.encode() + b"\r\nbody\r\n")


@pytest.mark.parametrize(("kwargs", "kind"), [
    ({}, None),
    ({"extra": "Auto-Submitted: no\r\n"}, None),
    ({"extra": "Auto-Submitted: auto-replied\r\n"}, AutoKind.AUTO_REPLY),
    ({"extra": "Auto-Submitted: auto-generated\r\n"}, AutoKind.AUTO_REPLY),
    ({"extra": "X-Autoreply: yes\r\n"}, AutoKind.AUTO_REPLY),
    ({"extra": "X-Autorespond: 1\r\n"}, AutoKind.AUTO_REPLY),
    ({"extra": "X-Auto-Response-Suppress: All\r\n"}, None),
    ({"subject": "自动回复: 设备故障"}, AutoKind.AUTO_REPLY),
    ({"subject": "Automatic reply: hello"}, AutoKind.AUTO_REPLY),
    ({"subject": "Out of Office: hello"}, AutoKind.AUTO_REPLY),
    ({"subject": "Auto-Reply: hello"}, AutoKind.AUTO_REPLY),
    ({"subject": "休假中：张三"}, AutoKind.AUTO_REPLY),
    ({"subject": "休假申请-张三"}, None),  # a person asking for leave
    ({"content_type": "multipart/report; report-type=delivery-status"}, AutoKind.BOUNCE),
    ({"sender": "MAILER-DAEMON@mx.corp.example"}, AutoKind.BOUNCE),
    ({"sender": "postmaster@corp.example"}, AutoKind.BOUNCE),
    ({"extra": "Return-Path: <>\r\n"}, AutoKind.BOUNCE),
    ({"extra": "Precedence: bulk\r\n"}, AutoKind.BULK),
    ({"extra": "Precedence: junk\r\n"}, AutoKind.BULK),
    ({"extra": "Precedence: list\r\n"}, AutoKind.LIST),
    ({"extra": "List-Id: <dev.lists.corp.example>\r\n"}, AutoKind.LIST),
    ({"extra": "List-Unsubscribe: <mailto:u@corp.example>\r\n"}, AutoKind.LIST),
    # Priority: BOUNCE > AUTO_REPLY > LIST > BULK.
    ({"extra": "Auto-Submitted: auto-replied\r\nReturn-Path: <>\r\n"}, AutoKind.BOUNCE),
    ({"extra": "List-Id: <l>\r\nAuto-Submitted: auto-replied\r\n"}, AutoKind.AUTO_REPLY),
    ({"extra": "Precedence: bulk\r\nList-Id: <l>\r\n"}, AutoKind.LIST),
])
def test_auto_classification(kwargs, kind):
    parsed = _auto(**kwargs)
    assert parsed.auto == kind
    assert (parsed.auto_reason is None) == (kind is None)


def test_auto_reason_names_the_header():
    assert _auto("Auto-Submitted: auto-replied\r\n").auto_reason == "Auto-Submitted: auto-replied"
    assert _auto("Return-Path: <>\r\n").sender == Address("", "")


BOUNCE = b"""From: Mail Delivery System <MAILER-DAEMON@mx.corp.example>\r
To: sender@corp.example\r
Subject: Undelivered Mail Returned to Sender\r
Message-ID: <bounce1@mx.corp.example>\r
Return-Path: <>\r
Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r
\r
--r\r
Content-Type: text/plain\r
\r
The mail could not be delivered.\r
--r\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.corp.example\r
\r
Final-Recipient: rfc822; nobody@corp.example\r
Status: 5.1.1\r
--r\r
Content-Type: message/rfc822\r
\r
From: sender@corp.example\r
Subject: original\r
\r
original text\r
--r--\r
"""


def test_multipart_report_bounce_keeps_only_the_human_part():
    parsed = parse_mail(BOUNCE)
    assert parsed.auto is AutoKind.BOUNCE
    assert parsed.auto_reason == "Content-Type: multipart/report"
    assert parsed.text.strip() == "The mail could not be delivered."
    assert "original text" not in parsed.text and "Status" not in parsed.text
    assert parsed.attachments == ()


def test_broken_base64_is_tolerated_and_recorded():
    raw = mail(BASE + "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: base64",
               base64.b64encode("设备故障".encode()).rstrip(b"=")[:-1] + b"!!\r\n")
    parsed = parse_mail(raw)
    assert parsed.text.startswith("设备")
    assert parsed.defects  # padding or undecodable bytes are reported


def test_unknown_charset_is_guessed_and_recorded():
    raw = mail(BASE + "Content-Type: text/plain; charset=x-klingon", "设备故障".encode("gbk"))
    parsed = parse_mail(raw)
    assert parsed.text == "设备故障"
    assert "unknown charset x-klingon" in parsed.defects


@pytest.mark.parametrize("raw", [
    b"", b"   \r\n", b"\x00\x01\x02 not a mail \xff\xfe", b"just one line of text",
])
def test_bytes_that_are_not_a_mail_raise_parse_error(raw):
    with pytest.raises(ParseError):
        parse_mail(raw)


def test_broken_mime_still_parses():
    raw = mail(BASE + 'Content-Type: multipart/mixed; boundary="never"', b"no boundary here\r\n")
    parsed = parse_mail(raw)
    assert parsed.text.strip() == "no boundary here"
    assert parsed.defects


@pytest.mark.parametrize(("header", "expected"), [
    ("To: =?utf-8?B?5byg5LiJ?= <ZS@Corp.Example>", (Address("张三", "zs@corp.example"),)),
    ('To: "=?gb2312?B?1cXI/Q==?=" <zs@corp.example>', (Address("张三", "zs@corp.example"),)),
    # The whole "name <addr>" inside one encoded-word.
    ("To: =?utf-8?B?5byg5LiJIDx6c0Bjb3JwLmV4YW1wbGU+?=", (Address("张三", "zs@corp.example"),)),
    ("To: a@x.example, \"Li, Si\" <ls@x.example>",
     (Address("", "a@x.example"), Address("Li, Si", "ls@x.example"))),
    ("To: John (comment) <j@x.example>", (Address("John (comment)", "j@x.example"),)),
    ("To: undisclosed-recipients:;", ()),
])
def test_addresses_with_encoded_names(header, expected):
    raw = mail(f"From: a@corp.example\r\nSubject: x\r\n{header}")
    assert parse_mail(raw).to == expected


def test_from_falls_back_to_sender_then_return_path():
    assert parse_mail(mail("Sender: S <s@x.example>\r\nSubject: x")).from_addr == \
        Address("S", "s@x.example")
    parsed = parse_mail(mail("Return-Path: <R@X.example>\r\nSubject: x"))
    assert parsed.from_addr == Address("", "r@x.example")
    assert parsed.sender == Address("", "r@x.example")
    assert "missing From" in parsed.defects
    assert parse_mail(mail("Subject: x")).from_addr == Address("", "")


def test_envelope_headers():
    parsed = parse_mail(mail(BASE + "Delivered-To: Gateway@Corp.Example\r\n"
                                    "X-Original-To: help@corp.example\r\n"
                                    "X-Loop: Gateway@Corp.Example\r\n"
                                    "Authentication-Results: mx; dkim=pass"))
    assert parsed.delivered_to == ("gateway@corp.example", "help@corp.example")
    assert parsed.x_loop == ("gateway@corp.example",)
    assert parsed.headers == {"authentication-results": "mx; dkim=pass"}
    assert parsed.sender is None


@pytest.mark.parametrize(("value", "expected"), [
    ("Mon, 2 Mar 2026 09:30:00 -0000", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
    ("Mon, 2 Mar 2026 09:30:00", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
    ("2 Mar 2026 09:30 +0800", datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=8)))),
    ("not a date", None),
    ("", None),
])
def test_dates_are_aware_or_none(value, expected):
    parsed = parse_mail(mail(f"From: a@corp.example\r\nDate: {value}"))
    assert parsed.date == expected
    assert parsed.date is None or parsed.date.tzinfo is not None


def test_subject_folding_is_unfolded():
    parsed = parse_mail(b"From: a@corp.example\r\nSubject: a long\r\n\tfolded\r\n  subject\r\n\r\n")
    assert parsed.subject == "a long folded subject"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_nothing_but_parse_error(raw):
    try:
        parsed = parse_mail(raw)
    except ParseError:
        return
    parsed.text.encode("utf-8")
    parsed.subject.encode("utf-8")


_HEADER_LINES = st.lists(st.sampled_from([
    b"From: =?gbk?B?1cXI/Q==?= <a@b>", b"To: \"x, y\" <c@d>, e@f", b"Subject: =?utf-8?B?5Lit",
    b"Content-Type: multipart/mixed; boundary=z", b"Content-Type: text/plain; charset=gbk",
    b"Content-Transfer-Encoding: base64", b"Content-Disposition: attachment; filename*=x''%ff",
    b"Date: 99 Foo 20000 99:99", b"References: <<>>", b"\tcontinued", b"--z", b"",
    b"Return-Path: <>", b"Content-Type: message/rfc822", "Subject: 设备".encode("gbk"),
]), max_size=25)


@settings(max_examples=200, deadline=None)
@given(_HEADER_LINES, st.binary(max_size=200))
def test_mail_shaped_garbage_raises_nothing_but_parse_error(lines, tail):
    try:
        parsed = parse_mail(b"\r\n".join(lines) + b"\r\n" + tail)
    except ParseError:
        return
    parsed.text.encode("utf-8")
    parsed.subject.encode("utf-8")
    for attachment in parsed.attachments:
        attachment.filename.encode("utf-8")
