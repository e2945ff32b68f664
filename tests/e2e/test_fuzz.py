"""Fuzzing with hypothesis, bounded for CI: the subject parser, and whole mails through the
pipeline into outgoing mail, where nothing from a mail may add or split a header."""

from __future__ import annotations

import base64
import itertools
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from paths import ROOT
from sqlalchemy import select

from gateway.config import load_settings
from gateway.db.models import Mail
from gateway.mail.subject import parse_subject
from gateway.model import FetchedMail
from gateway.runtime.assembly import Gateway
from gateway.usecases.services import Disposition
from gateway.vocabulary import DEPARTMENT_SUFFIXES, URGENCY_WORDS

pytestmark = pytest.mark.fuzz

OUR_FIELDS = frozenset({
    "from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references",
    "auto-submitted", "x-auto-response-suppress", "x-loop", "x-gateway-record", "mime-version",
    "content-type", "content-transfer-encoding",
})
_FIELD_LINE = re.compile(rb"([!-9;-~]+):")
_numbers = itertools.count()

# Text that tries every trick: line breaks of all kinds, encoded-word markers, brackets,
# urgency words, header-looking fragments, HTML.
_NASTY = st.lists(
    st.sampled_from(["\r", "\n", "\r\n", "\x00", "\u2028", "\x85", "=?", "?=", "Bcc: x@evil",
                     "【", "】", "[", "]", "紧急", "特急", "Re:", "回复:", "<script>", "\"", "<",
                     ">", "@", ",", ";", " ", "生产部", "-", "a", "設備"]) | st.characters(),
    max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(_NASTY, st.lists(st.sampled_from(["生产部", "质量部", "采购部", "x"]), max_size=3))
@example("生产部-\x00", [])  # a department word the (empty) directory does not list
def test_subject_parser_is_total_and_keeps_text_on_one_line(subject, departments):
    tag = parse_subject(subject, departments)
    assert tag.urgency is not None
    assert "\r" not in tag.title and "\n" not in tag.title
    # A department is one the directory names, or a word shaped like one (生产部, 仓储中心):
    # the subject convention is read even for a department the directory does not list yet.
    assert (tag.department is None or tag.department in departments
            or tag.department.endswith(DEPARTMENT_SUFFIXES))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(URGENCY_WORDS)), st.sampled_from(["【", "[", "［", "【 "]), _NASTY)
def test_a_bracketed_urgency_word_wins_whatever_follows(word, bracket, rest):
    closing = {"【": "】", "[": "]", "［": "］", "【 ": " 】"}[bracket]
    tag = parse_subject(f"{bracket}{word}{closing}{rest}")
    assert tag.urgency == URGENCY_WORDS[word]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    storage = tmp_path_factory.mktemp("fuzz")
    settings = load_settings(None, overrides={
        "gateway": {"domain": "gateway.corp.example", "internal_domains": ["corp.example"],
                    "rules_dir": str(ROOT / "rules"), "templates_dir": str(ROOT / "templates"),
                    "storage_dir": str(storage)},
        "smtp": {"from": "信息交流网关 <gateway@corp.example>"},
    })
    gateway = Gateway(settings)
    yield gateway
    gateway.close()


def encoded(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8", "surrogatepass")).decode() + "?="


def fuzzed_mail(n: int, name: str, subject: str, body: str) -> bytes:
    return (f"From: {encoded(name)} <sender{n}@customer.example>\r\n"
            f"To: gateway@corp.example\r\nSubject: {encoded(subject)}\r\n"
            f"Message-ID: <fuzz-{n}@customer.example>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
            f"\r\n").encode() + base64.encodebytes(body.encode("utf-8", "surrogatepass"))


def header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    names = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            continue  # a folded continuation of the field above
        match = _FIELD_LINE.match(line)
        assert match, f"not a header line: {line!r}"
        names.append(match.group(1).decode().lower())
    return names


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=_NASTY, subject=_NASTY, body=_NASTY)
def test_nothing_from_a_mail_adds_or_splits_an_outgoing_header(gateway, name, subject, body):
    n = next(_numbers)
    raw = fuzzed_mail(n, name, subject, body)
    result = gateway.ingest(FetchedMail(key=f"fuzz-{n}", raw=raw, size=len(raw)))
    assert result.action in (Disposition.CREATED, Disposition.QUARANTINED, Disposition.IGNORED)
    with gateway.sessions() as session:
        outgoing = session.scalars(select(Mail.raw).where(
            Mail.direction == "out", Mail.record_id == result.record_id)).all()
    for out in outgoing:
        out.partition(b"\r\n\r\n")[0].decode("ascii")  # every header encoded; bodies may be 8-bit
        names = header_names(out)
        assert set(names) <= OUR_FIELDS, names
        assert len(names) == len(set(names))  # no field given twice by a smuggled line break


# --- the reply readers: quoted history, commands, ratings -------------------------------------

_REPLY_PIECES = st.lists(
    st.sampled_from(["状态", "狀態", "status", "责任人", "紧急程度", "备注", "解决方案", "归档类别",
                     ":", "：", "已完成", "处理中", "#close", "特急", "重要", "张三 <z@corp.example>",
                     "-----原始邮件-----", "发件人:", "From:", "> ", "于2026年11月23日 写道:",
                     "------------------ 原始邮件 ------------------", "\n", "\n\n", "\r\n",
                     "5分", "★★★☆", "非常满意", "不满意", " ", "\u3000", "\t"]) | st.characters(),
    max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(_REPLY_PIECES)
def test_fuzz_reply_readers_never_raise_and_keep_their_promises(text):
    from gateway.closedloop.rating import parse_rating
    from gateway.closedloop.reply_commands import parse_reply
    from gateway.mail.quoting import split_reply

    split = split_reply(text)
    assert len(split.new_text) <= len(text) + 1
    parsed = parse_reply(split.new_text)
    # All or nothing: a reply with a problem runs no command.
    assert not (parsed.problems and parsed.commands)
    for command in parsed.commands:
        assert command.line >= 1
    rating = parse_rating(split.new_text)
    if rating is not None:
        assert 1 <= rating.score <= 5
