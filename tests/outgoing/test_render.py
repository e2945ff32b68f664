"""Rendering templates and data into outgoing mail: headers, threading, safety, originals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses, unquote
from pathlib import Path

import pytest
from answered import GATEWAY, NOW, STAFF, UTF8_ORIGINAL, inbound
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import ROOT

from gateway.errors import TemplateError
from gateway.model import Address, Status, Urgency
from gateway.outgoing.headers import (
    MAX_REFERENCES,
    clean,
    encoded_words,
    make_message_id,
    thread_ids,
)
from gateway.outgoing.mime import AttachedFile
from gateway.outgoing.render import (
    Renderer,
    format_local_datetime,
    format_size,
    sample_context,
    status_label,
    urgency_label,
)

TEMPLATES = ROOT / "templates"
CORPUS = ROOT.parent / "shared" / "corpus"
DOMAIN = "gateway.corp.example"
CST = timezone(timedelta(hours=8))

# Raw 8-bit GBK in the body and, as some clients still send it, in the Subject header too.
GBK_ORIGINAL = (
    b"From: li@supplier.example\r\nTo: gateway@corp.example\r\n"
    b"Subject: " + "交货延迟说明".encode("gbk") + b"\r\n"
    b"Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    + "您好：本批货物将延迟三天交付，敬请谅解。\r\n".encode("gbk")
)


SIGNATURE = "企业信息交流中心\n电话: 010-12345678"
# The gateway's notices about its own work: they belong to no record.
OWN_NOTICES = {"rules_broken", "report_mail"}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES, domain=DOMAIN, from_addr=GATEWAY, signature=SIGNATURE)


def context_with(record=None, mail=None) -> dict:
    context = sample_context()
    context["record"] = {**context["record"], **(record or {})}
    context["mail"] = {**context["mail"], **(mail or {})}
    return context


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=default)


def header_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def field_names(raw: bytes) -> list[str]:
    return [line.split(b":", 1)[0].decode() for line in header_lines(raw) if line[:1] != b" "]


def attached_original(raw: bytes) -> bytes:
    """The attached part's bytes, sliced from the message exactly as sent."""
    marker = b'filename="original.eml"\r\n\r\n'
    start = raw.index(marker) + len(marker)
    end = raw.index(b"\r\n--" + parse(raw).get_boundary().encode() + b"--", start)
    return raw[start:end]


# -- every template -------------------------------------------------------------------


def test_the_templates_folder_offers_ack_and_notify(renderer):
    assert {"ack", "notify"} <= set(renderer.kinds())


@pytest.mark.parametrize("kind", Renderer(TEMPLATES, domain=DOMAIN, from_addr=GATEWAY).kinds())
@pytest.mark.parametrize("original", [None, UTF8_ORIGINAL])
def test_every_template_renders_a_clean_message(renderer, kind, original):
    out = renderer.render(kind, to=STAFF, context=sample_context(), now=NOW,
                          attach_original=original)
    message = parse(out.raw)
    assert all(not part.defects for part in message.walk())
    text = message.get_body(("plain",)).get_content()
    assert "{{" not in text and "{%" not in text
    assert "企业信息交流中心" in text  # the signature, from the renderer's own gateway block
    if kind not in OWN_NOTICES:
        assert "NX-2026-001" in text
    html = message.get_body(("html",))
    assert html is None or "NX-2026-001" in html.get_content()
    assert b"\r\n" in out.raw and b"\n" not in out.raw.replace(b"\r\n", b"")
    assert (original is not None) == any(p.get_filename() == "original.eml"
                                         for p in message.iter_attachments())


@pytest.mark.parametrize(
    "kind, subject",
    [
        ("ack", "[NX-2026-001] 已受理: 【紧急】生产部-设备故障通知"),
        ("notify", "[NX-2026-001] 【紧急】生产部-设备故障通知"),
    ],
)
def test_subject_carries_the_record_id_and_decodes_back_to_chinese(renderer, kind, subject):
    out = renderer.render(kind, to=STAFF, context=sample_context(), now=NOW)
    assert out.subject == subject
    assert str(parse(out.raw)["Subject"]) == subject
    assert all(line.isascii() for line in header_lines(out.raw))


@pytest.mark.parametrize(
    "kind, phrases",
    [
        ("ack", ["信息编号：NX-2026-001", "紧急程度：紧急", "受理部门：生产部",
                 "预计反馈时间：2026年11月20日 13:30 (周五)", "保留主题中的信息编号",
                 "企业信息交流中心"]),
        ("notify", ["发起人：陈美 <chen.mei@bigcustomer.example>", "发起单位：大客户有限公司",
                    "问题类型：故障投诉", "责任人：王工", "故障照片.jpg（image/jpeg，240.0 KB）",
                    "3号产线液压泵故障", "original.eml"]),
    ],
)
def test_text_part_says_what_the_reader_needs(renderer, kind, phrases):
    out = renderer.render(kind, to=STAFF, context=sample_context(), now=NOW,
                          attach_original=UTF8_ORIGINAL)
    text = parse(out.raw).get_body(("plain",)).get_content()
    for phrase in phrases:
        assert phrase in text


def test_ack_does_not_echo_the_mail_body_to_the_sender(renderer):
    context = context_with(record={"summary": "内部备注"}, mail={"text": "来信正文"})
    out = renderer.render("ack", to=STAFF, context=context, now=NOW)
    body = parse(out.raw).get_body(("plain",)).get_content()
    assert "来信正文" not in body and "内部备注" not in body


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"due_at": None}, "预计反馈时间：待定"),
        ({"owner": None}, "责任人：待指派"),
        ({"problem_type": None}, "问题类型：其他"),
        ({"organisation": None}, "紧急程度：紧急"),
    ],
)
def test_notify_fills_gaps_in_the_record(renderer, record, expected):
    out = renderer.render("notify", to=STAFF, context=context_with(record=record), now=NOW)
    assert expected in parse(out.raw).get_body(("plain",)).get_content()


# -- headers ----------------------------------------------------------------------------


def test_message_id_is_generated_on_our_domain(renderer):
    out = renderer.render("ack", to=STAFF, context=sample_context(), now=NOW)
    assert out.message_id.endswith(".ack@" + DOMAIN)
    assert parse(out.raw)["Message-ID"] == f"<{out.message_id}>"


def test_a_given_message_id_is_used_as_is(renderer):
    given_id = make_message_id(DOMAIN, "NX-2026-001", "notify")
    out = renderer.render("notify", to=STAFF, context=sample_context(), now=NOW,
                          message_id=given_id)
    assert out.message_id == "NX-2026-001.notify@gateway.corp.example"
    assert parse(out.raw)["Message-ID"] == "<NX-2026-001.notify@gateway.corp.example>"


@pytest.mark.parametrize(
    "parts, expected",
    [
        (("NX-2026-001", "ack"), "NX-2026-001.ack@gateway.corp.example"),
        (("NB-2024-056", "remind", 3), "NB-2024-056.remind.3@gateway.corp.example"),
        (("生产部",), "{hash}@gateway.corp.example"),
        (("a b\r\nX: y",), "{hash}@gateway.corp.example"),
    ],
)
def test_make_message_id_is_deterministic_and_safe(parts, expected):
    made = make_message_id(DOMAIN, *parts)
    assert made == make_message_id(DOMAIN, *parts)
    if "{hash}" in expected:
        token = made.partition("@")[0]
        assert len(token) == 20 and token.isalnum()
    else:
        assert made == expected


def test_make_message_id_without_parts_is_random():
    assert make_message_id(DOMAIN) != make_message_id(DOMAIN)


@pytest.mark.parametrize("domain", ["", "bad domain", "x@y", "a..b"])
def test_make_message_id_refuses_a_bad_domain(domain):
    with pytest.raises(ValueError):
        make_message_id(domain, "x")


@pytest.mark.parametrize(
    "auto_submitted, expected",
    [("auto-replied", "auto-replied"), ("auto-generated", "auto-generated"), ("no", None)],
)
def test_auto_submitted_is_chosen_per_kind(renderer, auto_submitted, expected):
    out = renderer.render("notify", to=STAFF, context=sample_context(), now=NOW,
                          auto_submitted=auto_submitted)
    assert parse(out.raw)["Auto-Submitted"] == expected


def test_auto_submitted_refuses_unknown_values(renderer):
    with pytest.raises(ValueError):
        renderer.render("ack", to=STAFF, context=sample_context(), now=NOW,
                        auto_submitted="yes")


def test_loop_and_record_headers_are_set_and_precedence_is_not(renderer):
    out = renderer.render("ack", to=STAFF, cc=(Address("", "boss@corp.example"),),
                          context=sample_context(), now=NOW)
    message = parse(out.raw)
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message["X-Loop"] == "gateway@corp.example"
    assert message["X-Gateway-Record"] == "NX-2026-001"
    assert message["Precedence"] is None
    assert message["Date"].datetime == NOW
    assert message["From"].addresses[0].display_name == "信息交流网关"
    assert message["Cc"].addresses[0].addr_spec == "boss@corp.example"
    assert field_names(out.raw)[:5] == ["From", "To", "Cc", "Subject", "Date"]


def test_without_a_record_there_is_no_record_header(tmp_path):
    (tmp_path / "plain.subject.j2").write_text("通知", encoding="utf-8")
    (tmp_path / "plain.txt.j2").write_text("内容", encoding="utf-8")
    out = Renderer(tmp_path, domain=DOMAIN, from_addr=GATEWAY).render(
        "plain", to=STAFF, context={}, now=NOW)
    assert "X-Gateway-Record" not in field_names(out.raw)
    assert parse(out.raw).get_content_type() == "text/plain"


def test_extra_headers_are_added_and_cleaned(renderer):
    out = renderer.render("ack", to=STAFF, context=sample_context(), now=NOW,
                          extra_headers={"X-Gateway-Kind": "回执\r\nBcc: evil@x.example"})
    message = parse(out.raw)
    assert message["X-Gateway-Kind"] == "回执 Bcc: evil@x.example"
    assert message["Bcc"] is None


@pytest.mark.parametrize(
    "name", ["Bad Name", "X-A:B", "", "X-\u4e2d", "Subject", "x-loop", "Bcc"]
)
def test_extra_header_names_are_valid_and_never_ours_or_bcc(renderer, name):
    with pytest.raises(ValueError):
        renderer.render("ack", to=STAFF, context=sample_context(), now=NOW,
                        extra_headers={name: "x"})


@pytest.mark.parametrize("addr", ["", "no-at-sign", "a b@x.example", "a@b@c", "中@x.example"])
def test_an_unsendable_recipient_is_a_template_error(renderer, addr):
    with pytest.raises(TemplateError, match="ack"):
        renderer.render("ack", to=(Address("某人", addr),), context=sample_context(), now=NOW)


def test_an_international_domain_is_sent_as_punycode(renderer):
    out = renderer.render("ack", to=(Address("", "li@例子.中国"),), context=sample_context(),
                          now=NOW)
    assert parse(out.raw)["To"].addresses[0].domain == "xn--fsqu00a.xn--fiqs8s"


def test_now_must_be_aware(renderer):
    with pytest.raises(ValueError):
        renderer.render("ack", to=STAFF, context=sample_context(), now=datetime(2026, 1, 1))


# -- threading --------------------------------------------------------------------------


def ids(n: int) -> tuple[str, ...]:
    return tuple(f"m{i}@x.example" for i in range(n))


@pytest.mark.parametrize(
    "parent, parent_id, extra, expected",
    [
        (None, None, (), (None, ())),
        (inbound(), None, (), ("orig-1@bigcustomer.example", ("orig-1@bigcustomer.example",))),
        (inbound(references=ids(2)), None, (),
         ("orig-1@bigcustomer.example", (*ids(2), "orig-1@bigcustomer.example"))),
        # A parent that only names its own parent by In-Reply-To still threads under it.
        (inbound(in_reply_to=("root@x.example",)), None, (),
         ("orig-1@bigcustomer.example", ("root@x.example", "orig-1@bigcustomer.example"))),
        # A synthesised Message-ID exists only in our database: no client could thread on it.
        (inbound(message_id_synthetic=True, references=ids(1)), None, (), (None, ids(1))),
        (inbound(), "other@x.example", (),
         ("other@x.example", ("other@x.example",))),
        (None, "p@x.example", ("r@x.example", "p@x.example"), ("p@x.example",
                                                               ("r@x.example", "p@x.example"))),
        (inbound(references=("a@x.example", "orig-1@bigcustomer.example", "a@x.example")),
         None, (), ("orig-1@bigcustomer.example", ("a@x.example", "orig-1@bigcustomer.example"))),
        (inbound(references=("bad id@x", "<x@y>", "no-at", "ok@x.example")), None, (),
         ("orig-1@bigcustomer.example", ("ok@x.example", "orig-1@bigcustomer.example"))),
        (None, "bad\r\nid@x", (), (None, ())),
    ],
)
def test_thread_ids_follow_rfc_5322(parent, parent_id, extra, expected):
    assert thread_ids(parent, parent_id, extra) == expected


def test_long_reference_chains_keep_the_root_and_the_latest():
    _, refs = thread_ids(inbound(references=ids(50)), None)
    assert len(refs) == MAX_REFERENCES
    assert refs[0] == "m0@x.example"
    assert refs[-2:] == ("m49@x.example", "orig-1@bigcustomer.example")


def test_answers_thread_under_the_mail_they_answer(renderer):
    parent = inbound(references=ids(30))
    out = renderer.render("ack", to=STAFF, context=sample_context(), reply_to=parent, now=NOW)
    message = parse(out.raw)
    assert message["In-Reply-To"] == "<orig-1@bigcustomer.example>"
    assert message["References"].split() == [f"<{i}>" for i in out.references]
    assert out.references[-1] == out.in_reply_to == "orig-1@bigcustomer.example"
    assert all(len(line) <= 78 for line in header_lines(out.raw))


# -- mail content is data, never a template -----------------------------------------------


@pytest.mark.parametrize("payload", ["{{ 7*7 }}", "{% for x in range(3) %}x{% endfor %}",
                                     "{# c #}", "{{ ''.__class__ }}"])
def test_template_syntax_in_mail_content_stays_literal(renderer, payload):
    context = context_with(record={"title": payload, "summary": payload},
                           mail={"subject": payload})
    for kind in ("ack", "notify"):
        out = renderer.render(kind, to=STAFF, context=context, now=NOW)
        assert payload in out.subject
        assert payload in parse(out.raw).get_body(("plain",)).get_content()
        assert "49" not in out.subject


def test_html_in_mail_content_is_escaped_in_html_and_literal_in_text(renderer):
    script = "<script>alert(1)</script>"
    context = context_with(record={"summary": script, "title": script},
                           mail={"subject": script})
    out = renderer.render("notify", to=STAFF, context=context, now=NOW)
    message = parse(out.raw)
    html = message.get_body(("html",)).get_content()
    assert script not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert script in message.get_body(("plain",)).get_content()
    assert out.subject.endswith(script)


# -- header injection -----------------------------------------------------------------


INJECTIONS = [
    "故障\r\nBcc: evil@x.example",
    "故障\nBcc: evil@x.example",
    "故障\rBcc: evil@x.example",
    "故障\u2028Bcc: evil@x.example\x85X: y\x00",
    # Encoded-words that decode to a line break: the stdlib's own header parser turned
    # this into a real Bcc header on Python 3.11.7 (CVE-2024-6923).
    "=?utf-8?q?a=0D=0ABcc:_evil@x.example?=",
    "=?utf-8?b?5Lit?= =?utf-8?q?=0A=0Aevil_body?=",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_line_breaks_in_a_subject_never_make_a_header(renderer, payload):
    context = context_with(mail={"subject": payload})
    out = renderer.render("ack", to=STAFF, context=context, now=NOW)
    message = parse(out.raw)
    assert message["Bcc"] is None and message["X"] is None
    assert str(message["Subject"]) == out.subject == clean(f"[NX-2026-001] 已受理: {payload}")
    assert message.get_body(("plain",)) is not None


@pytest.mark.parametrize("payload", [*INJECTIONS, '王工" <evil@x.example>, "x',
                                     "=?utf-8?q?x=22_=3Cevil@x.example=3E,_y?="])
def test_display_names_are_encoded_never_pasted(renderer, payload):
    out = renderer.render("ack", to=(Address(payload, "wang@corp.example"),),
                          context=sample_context(), now=NOW)
    message = parse(out.raw)
    assert message["Bcc"] is None
    [recipient] = message["To"].addresses
    assert recipient.addr_spec == "wang@corp.example"
    assert recipient.display_name == clean(payload)


@pytest.mark.parametrize(("eight_bit", "text", "encoding"), [
    (True, "您好！\n您的来信已收到。", "8bit"),
    (False, "您好！\n您的来信已收到。", "base64"),
    (True, "ascii only", "7bit"),
    (True, "长" * 400, "base64"),  # 1,200 octets: no SMTP line may be longer than 998
    (True, "a\0b 中", "base64"),
])
def test_text_parts_go_8bit_when_the_relay_allows_it(tmp_path, eight_bit, text, encoding):
    (tmp_path / "t.subject.j2").write_text("主题", encoding="utf-8")
    (tmp_path / "t.txt.j2").write_text("{{ body }}", encoding="utf-8")
    renderer = Renderer(tmp_path, domain=DOMAIN, from_addr=GATEWAY, eight_bit=eight_bit)
    out = renderer.render("t", to=STAFF, context={"body": text}, now=NOW)
    head, _, _ = out.raw.partition(b"\r\n\r\n")
    head.decode("ascii")  # headers stay 7-bit whatever the body is
    message = parse(out.raw)
    assert message["Content-Transfer-Encoding"] == encoding
    assert message.get_content().replace("\r\n", "\n").rstrip("\n") == text
    assert max(map(len, out.raw.split(b"\r\n"))) <= 998


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=300),
       name=st.sampled_from(["Subject", "To", "X-Gateway-Record", "Content-Description"]))
def test_encoded_words_decode_back_and_keep_lines_short(text, name):
    value = encoded_words(text, 78 - len(name) - 2)
    lines = f"{name}: {value}".split("\r\n")
    assert all(len(line) <= 78 for line in lines)
    assert all(line.startswith(" ") for line in lines[1:])
    decoded = "".join(part.decode("utf-8") for part, _ in decode_header(value.replace("\r\n ", " ")))
    assert decoded == text


# -- the sandbox and failures -------------------------------------------------------------


def kind_in(folder: Path, subject: str, text: str = "正文", html: str | None = None) -> Renderer:
    (folder / "t.subject.j2").write_text(subject, encoding="utf-8")
    (folder / "t.txt.j2").write_text(text, encoding="utf-8")
    if html is not None:
        (folder / "t.html.j2").write_text(html, encoding="utf-8")
    return Renderer(folder, domain=DOMAIN, from_addr=GATEWAY)


@pytest.mark.parametrize(
    "subject, text, html, failing",
    [
        ("{{ ''.__class__.__mro__ }}", "x", None, "t.subject.j2"),
        ("ok", "{{ record.__class__.__init__.__globals__ }}", None, "t.txt.j2"),
        ("ok", "{{ mail.from_addr.__class__ }}", None, "t.txt.j2"),
        ("ok", "{{ [].append(1) }}", None, "t.txt.j2"),
        ("ok", "{{ gateway.update({'name': 'x'}) }}", None, "t.txt.j2"),
        ("ok", "x", "{{ no_such_variable }}", "t.html.j2"),
        ("ok", "{{ record.no_such_field }}", None, "t.txt.j2"),
        ("ok", "{% for %}", None, "t.txt.j2"),
        ("ok", "{{ record.id | no_such_filter }}", None, "t.txt.j2"),
        ("ok", "{{ 'x' | urgency_label }}", None, "t.txt.j2"),
        ("ok", "{% include 'missing.j2' %}", None, "missing.j2"),
        ("ok", "x", "{% include 'missing.j2' %}", "missing.j2"),
    ],
)
def test_unsafe_or_broken_templates_fail_with_a_template_error(
    tmp_path, subject, text, html, failing
):
    renderer = kind_in(tmp_path, subject, text, html)
    with pytest.raises(TemplateError, match=failing.replace(".", r"\.")):
        renderer.render("t", to=STAFF, context=sample_context(), now=NOW)


def test_a_missing_kind_names_the_template(renderer):
    with pytest.raises(TemplateError, match=r"reply_added\.subject\.j2"):
        renderer.render("reply_added", to=STAFF, context=sample_context(), now=NOW)


def test_a_missing_html_template_means_text_only(tmp_path):
    out = kind_in(tmp_path, "主题", "正文").render("t", to=STAFF, context={}, now=NOW)
    message = parse(out.raw)
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "正文\r\n"  # canonical CRLF form (RFC 2046 §4.1.1)


def test_autoescape_is_on_for_html_templates_only(tmp_path):
    renderer = kind_in(tmp_path, "{{ v }}", "{{ v }}", "<p>{{ v }}</p>")
    out = renderer.render("t", to=STAFF, context={"v": "a<b>&c"}, now=NOW)
    message = parse(out.raw)
    assert out.subject == "a<b>&c"
    assert message.get_body(("plain",)).get_content() == "a<b>&c\r\n"
    assert message.get_body(("html",)).get_content() == "<p>a&lt;b&gt;&amp;c</p>\r\n"


# -- filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (datetime(2026, 11, 23, 14, 0, tzinfo=CST), "2026年11月23日 14:00 (周一)"),
        (datetime(2026, 11, 23, 6, 0, tzinfo=UTC), "2026年11月23日 06:00 (周一)"),
        (datetime(2026, 3, 1, 9, 5, tzinfo=CST), "2026年3月1日 09:05 (周日)"),
        (None, "待定"),
    ],
)
def test_datetime_filter_formats_in_the_values_own_zone(value, expected):
    assert format_local_datetime(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [(Urgency.NORMAL, "普通"), ("urgent", "紧急"), (Urgency.CRITICAL, "特急")],
)
def test_urgency_label(value, expected):
    assert urgency_label(value) == expected


@pytest.mark.parametrize("value, expected", [(Status.OPEN, "待处理"), ("resolved", "已完成")])
def test_status_label(value, expected):
    assert status_label(value) == expected


@pytest.mark.parametrize(
    "size, expected", [(0, "0 B"), (1023, "1023 B"), (2048, "2.0 KB"), (5 << 20, "5.0 MB")]
)
def test_filesize_filter(size, expected):
    assert format_size(size) == expected


# -- the attached original ----------------------------------------------------------------


@pytest.mark.parametrize(
    "original, sent",
    [
        (UTF8_ORIGINAL, UTF8_ORIGINAL),
        (GBK_ORIGINAL, GBK_ORIGINAL),
        # SMTP wants CRLF: bare LF and CR line ends are the only bytes that change.
        (GBK_ORIGINAL.replace(b"\r\n", b"\n"), GBK_ORIGINAL),
        (GBK_ORIGINAL.replace(b"\r\n", b"\r"), GBK_ORIGINAL),
        (UTF8_ORIGINAL.rstrip(b"\r\n"), UTF8_ORIGINAL.rstrip(b"\r\n")),
    ],
    ids=["utf-8", "gbk-8bit", "gbk-lf", "gbk-cr", "no-final-newline"],
)
def test_the_original_is_attached_byte_exact(renderer, original, sent):
    out = renderer.render("notify", to=STAFF, context=sample_context(), now=NOW,
                          attach_original=original)
    assert attached_original(out.raw) == sent
    [part] = parse(out.raw).iter_attachments()
    assert part.get_content_type() == "message/rfc822"
    assert part["Content-Transfer-Encoding"] == ("7bit" if sent.isascii() else "8bit")


def test_an_attached_gbk_original_still_reads_as_chinese(renderer):
    out = renderer.render("notify", to=STAFF, context=sample_context(), now=NOW,
                          attach_original=GBK_ORIGINAL)
    [part] = parse(out.raw).iter_attachments()
    inner = part.get_content()
    assert inner.get_content() == "您好：本批货物将延迟三天交付，敬请谅解。\r\n"
    assert inner["From"] == "li@supplier.example"


@pytest.mark.parametrize(
    "original",
    [b"Subject: x\r\n\r\n" + b"a" * 999 + b"\r\n", b"Subject: x\r\n\r\nnul \0 byte\r\n"],
    ids=["line-over-998", "nul-byte"],
)
def test_an_original_smtp_cannot_carry_goes_as_base64(renderer, original):
    out = renderer.render("notify", to=STAFF, context=sample_context(), now=NOW,
                          attach_original=original)
    [part] = parse(out.raw).iter_attachments()
    assert part.get_content_type() == "application/octet-stream"
    assert part.get_filename() == "original.eml"
    assert part.get_content() == original
    assert max(len(line) for line in out.raw.split(b"\r\n")) <= 998


# -- attached files (the evaluation report) ---------------------------------------------------

REPORT = AttachedFile("report-2026-W48.html", "text/html", "<html>效果评估</html>\n".encode())


def test_a_file_is_attached_as_base64_under_its_name(renderer):
    out = renderer.render("notify", to=STAFF, context=sample_context(), now=NOW,
                          attachments=(REPORT,))
    message = parse(out.raw)
    assert message.get_content_type() == "multipart/mixed"
    [part] = message.iter_attachments()
    assert (part.get_filename(), part.get_content_type()) == ("report-2026-W48.html", "text/html")
    assert part["Content-Transfer-Encoding"] == "base64"
    assert part.get_payload(decode=True) == REPORT.data
    assert "NX-2026-001" in message.get_body(("plain",)).get_content()


def test_the_original_and_a_file_travel_together_the_original_unchanged(renderer):
    out = renderer.render("notify", to=STAFF, context=sample_context(), now=NOW,
                          attach_original=GBK_ORIGINAL, attachments=(REPORT,))
    names = [p.get_filename() for p in parse(out.raw).iter_attachments()]
    assert names == ["original.eml", "report-2026-W48.html"]
    marker = b'filename="original.eml"\r\n\r\n'
    start = out.raw.index(marker) + len(marker)
    assert out.raw[start:start + len(GBK_ORIGINAL) + 4] == GBK_ORIGINAL + b"\r\n--"


@pytest.mark.parametrize("name", [
    "效果评估报告 2026年11月.xlsx", "长" * 100 + ".xlsx", '"report"\r\nBcc: evil@x.example',
    "a\\b\"c.txt", "=?utf-8?q?=0D=0ABcc:_evil@x.example?=", "", "😀" * 30,
])
def test_file_names_are_quoted_or_encoded_never_pasted(renderer, name):
    out = renderer.render("ack", to=STAFF, context=sample_context(), now=NOW,
                          attachments=(AttachedFile(name, "application/octet-stream", b"x"),))
    [part] = parse(out.raw).iter_attachments()
    assert part.get_filename() == unquote(clean(name) or "attachment")
    assert part["Bcc"] is None and parse(out.raw)["Bcc"] is None
    assert all(line.isascii() and len(line) <= 78
               for line in out.raw.split(b"\r\n") if b"filename" in line)


@pytest.mark.parametrize("content_type", ["text", "text/html; charset=utf-8", "a/b\r\nBcc: x",
                                          "/html", "文本/html"])
def test_a_file_needs_a_plain_content_type(renderer, content_type):
    with pytest.raises(ValueError, match="content type"):
        renderer.render("ack", to=STAFF, context=sample_context(), now=NOW,
                        attachments=(AttachedFile("a.txt", content_type, b"x"),))


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*/*") if p.is_file() and p.name != "MANIFEST.tsv"
                  and not p.name.startswith(".")) if CORPUS.is_dir() else []


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS.is_dir(), reason="no ../shared/corpus")
def test_every_corpus_mail_attaches_intact(renderer):
    for path in corpus_files():
        raw = path.read_bytes()
        out = renderer.render("notify", to=STAFF, context=sample_context(), now=NOW,
                              attach_original=raw)
        [part] = parse(out.raw).iter_attachments()
        crlf = b"\r\n".join(raw.splitlines()) + (b"\r\n" if raw.endswith((b"\r", b"\n")) else b"")
        if part.get_content_type() == "message/rfc822":
            assert attached_original(out.raw) == crlf, path.name
        else:
            assert part.get_content() == crlf, path.name


# -- properties -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def echo(tmp_path_factory) -> Renderer:
    folder = tmp_path_factory.mktemp("echo")
    (folder / "echo.subject.j2").write_text("{{ subject }}", encoding="utf-8")
    (folder / "echo.txt.j2").write_text("{{ subject }}", encoding="utf-8")
    return Renderer(folder, domain=DOMAIN, from_addr=GATEWAY)


def assert_sane_headers(raw: bytes) -> None:
    lines = header_lines(raw)
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    assert all(line.isascii() and len(line) <= 998 for line in lines)
    names = field_names(raw)
    assert set(names) <= {"From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To",
                          "References", "Auto-Submitted", "X-Auto-Response-Suppress",
                          "X-Loop", "X-Gateway-Record", "MIME-Version", "Content-Type",
                          "Content-Transfer-Encoding"}
    assert len(names) == len(set(names))


ANY_CHARACTER = st.characters(exclude_categories=())  # surrogates too, as undecodable mail has


@settings(max_examples=300, deadline=None)
@given(st.text(ANY_CHARACTER) | st.text())
def test_any_subject_stays_one_header_and_reads_back(echo, subject):
    out = echo.render("echo", to=STAFF, context={"subject": subject}, now=NOW)
    assert_sane_headers(out.raw)
    assert str(parse(out.raw)["Subject"]) == out.subject == clean(subject)


@settings(max_examples=300, deadline=None)
@given(st.text(ANY_CHARACTER) | st.text(), st.text(max_size=5))
def test_any_display_name_stays_one_address_and_reads_back(echo, name, other):
    to = (Address(name, "li.si@corp.example"), Address(other, "wang@corp.example"))
    out = echo.render("echo", to=to, cc=(Address(name, "c@corp.example"),),
                      context={"subject": "x"}, now=NOW)
    assert_sane_headers(out.raw)
    message = parse(out.raw)
    assert [a.addr_spec for a in message["To"].addresses] == [a.addr for a in to]
    # The stdlib's newer parser keeps the folding space between encoded-words in a
    # display name (RFC 2047 §6.2 says drop it); the classic decoder reads it exactly.
    sent = message_from_bytes(out.raw)["To"]  # compat32: the field as sent, not decoded
    decoded = [str(make_header(decode_header(n))) for n, _ in getaddresses([sent])]
    assert decoded == [clean(name), clean(other)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1), max_size=30))
def test_any_reference_ids_stay_in_their_header(echo, references):
    parent = inbound(references=tuple(references))
    out = echo.render("echo", to=STAFF, context={"subject": "x"}, reply_to=parent, now=NOW)
    assert_sane_headers(out.raw)
    refs = parse(out.raw)["References"]
    assert refs.split() == [f"<{i}>" for i in out.references]


@settings(max_examples=300, deadline=None)
@given(st.text(ANY_CHARACTER) | st.text())
def test_any_file_name_stays_in_its_parameter_and_reads_back(echo, name):
    out = echo.render("echo", to=STAFF, context={"subject": "x"}, now=NOW,
                      attachments=(AttachedFile(name, "application/pdf", b"%PDF"),))
    assert_sane_headers(out.raw)
    [part] = parse(out.raw).iter_attachments()
    assert set(part.keys()) == {"Content-Type", "Content-Transfer-Encoding",
                                "Content-Disposition"}
    assert part.get_filename() == unquote(clean(name) or "attachment")
    assert all(line.isascii() and len(line) <= 78 for line in out.raw.split(b"\r\n"))



def _folder_renderer(folder: Path) -> Renderer:
    return Renderer(folder, domain=DOMAIN, from_addr=GATEWAY)


def _render_note(renderer: Renderer) -> EmailMessage:
    return parse(renderer.render("note", to=STAFF, context={"who": "生产部"}, now=NOW).raw)


def test_missing_templates_are_told_apart_and_a_reload_sees_new_ones(tmp_path):
    (tmp_path / "note.subject.j2").write_text("通知 {{ who }}", encoding="utf-8")
    (tmp_path / "note.txt.j2").write_text("{{ who }}：请查收。\n", encoding="utf-8")
    renderer = _folder_renderer(tmp_path)
    assert _render_note(renderer).get_content_type() == "text/plain"  # no HTML template
    assert _render_note(renderer).get_content_type() == "text/plain"  # nor the second time

    (tmp_path / "note.html.j2").write_text('{% include "_part.html.j2" %}', encoding="utf-8")
    assert _render_note(renderer).get_content_type() == "text/plain"  # edits wait for a reload
    renderer.env = _folder_renderer(tmp_path).env  # what a reload does
    with pytest.raises(TemplateError, match="_part.html.j2 not found"):
        _render_note(renderer)  # the HTML template is there, what it includes is not

    (tmp_path / "_part.html.j2").write_text("<p>{{ who }}</p>", encoding="utf-8")
    renderer.env = _folder_renderer(tmp_path).env
    message = _render_note(renderer)
    assert message.get_content_type() == "multipart/alternative"
    assert "<p>生产部</p>" in message.get_body(("html",)).get_content()

    (tmp_path / "note.txt.j2").unlink()
    renderer.env = _folder_renderer(tmp_path).env
    with pytest.raises(TemplateError, match="note.txt.j2 not found"):
        _render_note(renderer)


def test_templates_read_a_dataclass_field_but_nothing_internal_of_it(tmp_path):
    (tmp_path / "peek.subject.j2").write_text("{{ who.name }} <{{ who.addr }}>", encoding="utf-8")
    (tmp_path / "peek.txt.j2").write_text("{{ who.__class__ }}\n", encoding="utf-8")
    renderer = _folder_renderer(tmp_path)
    with pytest.raises(TemplateError, match="__class__"):
        renderer.render("peek", to=STAFF, context={"who": STAFF[0]}, now=NOW)
    (tmp_path / "peek.txt.j2").write_text("{{ who.__dataclass_fields__ }}\n", encoding="utf-8")
    renderer.env = _folder_renderer(tmp_path).env
    with pytest.raises(TemplateError, match="__dataclass_fields__"):
        renderer.render("peek", to=STAFF, context={"who": STAFF[0]}, now=NOW)
    (tmp_path / "peek.txt.j2").write_text("{{ who.name }}\n", encoding="utf-8")
    renderer.env = _folder_renderer(tmp_path).env
    message = parse(renderer.render("peek", to=STAFF, context={"who": STAFF[0]}, now=NOW).raw)
    assert message["Subject"] == "王工 <wang.gong@corp.example>"
    assert message.get_content().strip() == "王工"
