"""Subject tags: every bracket form, urgency word, prefix stack and department spelling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.mail.subject import parse_subject
from gateway.model import Urgency
from gateway.vocabulary import BRACKETS, FORWARD_PREFIXES, REPLY_PREFIXES, URGENCY_WORDS

N, U, C = Urgency.NORMAL, Urgency.URGENT, Urgency.CRITICAL
DIRECTORY = frozenset({"生产部", "质量部", "IT", "Production", "信息中心"})

# subject, urgency, department, title, record id, prefixes
CASES = [
    # the convention itself, in every bracket form
    ("【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("[紧急]生产部-设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("［紧急］生产部-设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("〔紧急〕生产部-设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("〖紧急〗生产部-设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("（紧急）生产部-设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("(紧急)生产部-设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("【 紧急 】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("【紧急】 生产部 - 设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("  【紧急】生产部-设备故障通知  ", U, "生产部", "设备故障通知", None, ()),
    ("【紧急】\t生产部-设备\n 故障通知", U, "生产部", "设备 故障通知", None, ()),
    # urgency words
    ("【普通】质量部-来料检验报告", N, "质量部", "来料检验报告", None, ()),
    ("【一般】质量部-来料检验报告", N, "质量部", "来料检验报告", None, ()),
    ("【常规】质量部-来料检验报告", N, "质量部", "来料检验报告", None, ()),
    ("【特急】生产部-停电", C, "生产部", "停电", None, ()),
    ("【緊急】品質部-客訴處理", U, "品質部", "客訴處理", None, ()),
    ("【特別緊急】品質部-客訴處理", C, "品質部", "客訴處理", None, ()),
    ("【非常紧急】生产部-停电", C, "生产部", "停电", None, ()),
    ("【加急】采购部-原料断供", U, "采购部", "原料断供", None, ()),
    ("[URGENT] Production line stopped", U, None, "Production line stopped", None, ()),
    ("[Urgent] Production line stopped", U, None, "Production line stopped", None, ()),
    ("[urgent]Production line stopped", U, None, "Production line stopped", None, ()),
    ("[CRITICAL] Plant offline", C, None, "Plant offline", None, ()),
    ("[Emergency] Plant offline", C, None, "Plant offline", None, ()),
    ("[Normal] Weekly report", N, None, "Weekly report", None, ()),
    ("URGENT: Production line stopped", U, None, "Production line stopped", None, ()),
    ("紧急：设备故障", U, None, "设备故障", None, ()),
    ("特急! 主机房断电", C, None, "主机房断电", None, ()),
    ("【紧急】【特急】生产部-停电", C, "生产部", "停电", None, ()),
    # no tag: 普通, and the whole subject is the title
    ("设备故障通知", N, None, "设备故障通知", None, ()),
    ("Quarterly supplier review", N, None, "Quarterly supplier review", None, ()),
    ("", N, None, "", None, ()),
    ("   ", N, None, "", None, ()),
    # department spellings
    ("生产部-设备故障通知", N, "生产部", "设备故障通知", None, ()),
    ("生产部－设备故障通知", N, "生产部", "设备故障通知", None, ()),
    ("生产部—设备故障通知", N, "生产部", "设备故障通知", None, ()),
    ("生产部–设备故障通知", N, "生产部", "设备故障通知", None, ()),
    ("信息中心-邮箱扩容申请", N, "信息中心", "邮箱扩容申请", None, ()),
    ("质量管理处-年度审核", N, "质量管理处", "年度审核", None, ()),
    ("二号车间-排产调整", N, "二号车间", "排产调整", None, ()),
    ("IT-VPN cannot connect", N, "IT", "VPN cannot connect", None, ()),
    ("Production-line 3 stopped", N, "Production", "line 3 stopped", None, ()),
    ("【生产部】设备故障通知", N, "生产部", "设备故障通知", None, ()),
    ("【生产部】【紧急】设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("【紧急 生产部】设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("【紧急|生产部】设备故障通知", U, "生产部", "设备故障通知", None, ()),
    ("【紧急】设备故障通知", U, None, "设备故障通知", None, ()),
    ("【紧急】关于3-5号线的排产", U, None, "关于3-5号线的排产", None, ()),
    ("COVID-19 防疫物资申请", N, None, "COVID-19 防疫物资申请", None, ()),
    ("生产部-", N, None, "生产部-", None, ()),
    # a bracket that belongs to the title stays in it
    ("[草案] 报价单", N, None, "[草案] 报价单", None, ()),
    ("【通知】年会安排", N, None, "【通知】年会安排", None, ()),
    ("[dovecot] IDLE question", N, None, "[dovecot] IDLE question", None, ()),
    ("【紧急】[草案] 报价单", U, None, "[草案] 报价单", None, ()),
    ("【紧急 报价】清单", N, None, "【紧急 报价】清单", None, ()),
    ("【未闭合 设备故障", N, None, "【未闭合 设备故障", None, ()),
    # reply and forward prefixes, stacked, any width of colon
    ("Re: 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ("Re",)),
    ("RE: 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ("RE",)),
    ("re:【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ("re",)),
    ("回复: 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ("回复",)),
    ("回复：【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ("回复",)),
    ("答复：【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ("答复",)),
    ("回覆：【緊急】生產部-設備故障", U, "生產部", "設備故障", None, ("回覆",)),
    ("转发: 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ("转发",)),
    ("Fwd: 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ("Fwd",)),
    ("FW: 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ("FW",)),
    ("Fw : 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ("Fw",)),
    ("轉寄: 【緊急】生產部-設備故障", U, "生產部", "設備故障", None, ("轉寄",)),
    ("AW: [URGENT] Linie steht", U, None, "Linie steht", None, ("AW",)),
    ("Re: RE: 回复: 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None,
     ("Re", "RE", "回复")),
    ("Fwd: Re: 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知", None, ("Fwd", "Re")),
    ("Re[2]: 设备故障", N, None, "设备故障", None, ("Re",)),
    ("RE(3)：设备故障", N, None, "设备故障", None, ("RE",)),
    ("Re:Re:Re:", N, None, "", None, ("Re", "Re", "Re")),
    ("Regarding: the contract", N, None, "Regarding: the contract", None, ()),
    ("回复函: 设备故障", N, None, "回复函: 设备故障", None, ()),
    # quoted record ids, and the gateway's own subjects read back
    ("[NX-2026-001] 已受理: 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知",
     "NX-2026-001", ()),
    ("答复: [NX-2026-001] 已受理: 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知",
     "NX-2026-001", ("答复",)),
    ("Re: [SC-2026-042] 【紧急】生产部-设备故障通知", U, "生产部", "设备故障通知",
     "SC-2026-042", ("Re",)),
    ("RE: 【NX-2026-001】 设备故障", N, None, "设备故障", "NX-2026-001", ("RE",)),
    ("回复: NX-2026-001 设备故障", N, None, "设备故障", "NX-2026-001", ("回复",)),
    ("NX-2026-001: 补充材料", N, None, "补充材料", "NX-2026-001", ()),
    ("关于 NX-2026-001 的补充", N, None, "关于 NX-2026-001 的补充", "NX-2026-001", ()),
    ("Re: [KF-2026-1234] 提醒: 产品咨询", N, None, "产品咨询", "KF-2026-1234", ("Re",)),
    ("[NX-2026-001][已受理] 设备故障", N, None, "设备故障", "NX-2026-001", ()),
    ("已受理: 设备故障", N, None, "已受理: 设备故障", None, ()),
    ("nx-2026-001 lowercase is no id", N, None, "nx-2026-001 lowercase is no id", None, ()),
    ("ABCDEFG-2026-001 too long a prefix", N, None, "ABCDEFG-2026-001 too long a prefix",
     None, ()),
]


def test_the_table_is_large_enough_to_pin_the_convention():
    assert len(CASES) >= 60


@pytest.mark.parametrize(("subject", "urgency", "department", "title", "record_id", "prefixes"),
                         CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_subject_reads_as(subject, urgency, department, title, record_id, prefixes):
    tag = parse_subject(subject, DIRECTORY)
    assert (tag.urgency, tag.department, tag.title, tag.record_id, tag.prefixes) == (
        urgency, department, title, record_id, prefixes)


@pytest.mark.parametrize(("subject", "tagged"), [
    ("【普通】x", True), ("【一般】x", True), ("x", False), ("Re: x", False), ("[URGENT] x", True),
])
def test_urgency_tagged_tells_a_default_from_a_written_normal(subject, tagged):
    assert parse_subject(subject).urgency_tagged is tagged


@pytest.mark.parametrize(("subject", "is_reply", "is_forward"), [
    ("Re: x", True, False), ("Fwd: x", False, True), ("Fwd: Re: x", True, True),
    ("x", False, False), ("回复: 转发: x", True, True),
])
def test_reply_and_forward_flags(subject, is_reply, is_forward):
    tag = parse_subject(subject)
    assert (tag.is_reply, tag.is_forward) == (is_reply, is_forward)


def test_an_ascii_word_needs_the_directory_to_count_as_department():
    assert parse_subject("IT-VPN cannot connect").department is None
    assert parse_subject("IT-VPN cannot connect", {"IT"}).department == "IT"


# --- properties ------------------------------------------------------------------------------

_TITLE_CHARS = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"),
    exclude_characters="".join(BRACKETS) + "".join(BRACKETS.values()) + ":：-－—–―‐!！",
)
titles = st.text(_TITLE_CHARS, min_size=1, max_size=30).filter(
    lambda t: parse_subject(t).title == t and not parse_subject(t).record_id
    and not parse_subject(t).department)
words = st.sampled_from(sorted(URGENCY_WORDS))
brackets = st.sampled_from(sorted(BRACKETS.items()))
prefixes = st.lists(st.sampled_from(sorted(REPLY_PREFIXES | FORWARD_PREFIXES)), max_size=4)
colons = st.sampled_from([":", "：", ": ", "： "])


@given(st.text(max_size=80))
def test_any_text_parses_and_the_title_is_a_part_of_it(subject):
    tag = parse_subject(subject)
    assert " ".join(tag.title.split()) in " ".join(subject.split())
    assert tag.urgency_tagged or tag.urgency is Urgency.NORMAL


@given(prefixes, colons, words, brackets, titles)
def test_composed_subjects_read_back(stack, colon, word, bracket, title):
    subject = "".join(f"{p}{colon}" for p in stack) + f"{bracket[0]}{word}{bracket[1]}生产部-{title}"
    tag = parse_subject(subject, DIRECTORY)
    assert tag.urgency is URGENCY_WORDS[word.casefold()]
    assert (tag.department, tag.title, tag.prefixes) == ("生产部", title.strip(), tuple(stack))


@given(st.from_regex(r"[A-Z]{1,6}-20[0-9]{2}-[0-9]{3,5}", fullmatch=True), titles)
def test_a_record_id_anywhere_is_found(record_id, title):
    for subject in (f"[{record_id}] {title}", f"Re: {title} ({record_id})", f"{record_id}: {title}"):
        assert parse_subject(subject).record_id == record_id


@given(st.text(max_size=40))
def test_parsing_is_stable_on_its_own_title(subject):
    """Reading a title again finds nothing more: the tag strips what it reads, nothing else."""
    tag = parse_subject(subject, DIRECTORY)
    if tag.prefixes or tag.urgency_tagged or tag.department or tag.record_id:
        return
    assert parse_subject(tag.title, DIRECTORY).title == tag.title
