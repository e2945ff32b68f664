"""Splitting a reply into what its writer wrote and the quoted history, per mail client."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.mail.htmltext import html_to_text
from gateway.mail.quoting import split_reply

NEW = "王工您好，维修人员已到现场。"
OLD = "3号线注塑机突发液压故障, 已停机。"

CASES = [
    ("outlook-zh", (f"{NEW}\n\n发件人: 王工 <wang@customer.example>\n发送时间: 2026年11月23日 10:00\n"
                   f"收件人: gateway@corp.example\n主题: 设备故障\n\n{OLD}"), "header-block"),
    ("outlook-zh-fullwidth", f"{NEW}\n\n发件人：王工\n发送时间：2026年11月23日\n主题：设备故障\n{OLD}",
     "header-block"),
    ("outlook-en", (f"{NEW}\n\n________________________________\nFrom: Wang <wang@customer.example>\n"
                   f"Sent: Monday, November 23, 2026 10:00 AM\nTo: gateway\nSubject: x\n\n{OLD}"),
     "header-block"),
    ("outlook-original-zh", f"{NEW}\n\n-----原始邮件-----\n发件人: 王工\n{OLD}", "original-zh"),
    ("outlook-original-en", f"{NEW}\n-----Original Message-----\nFrom: Wang\n{OLD}", "original-en"),
    ("foxmail", (f"{NEW}\n\n------------------ 原始邮件 ------------------\n"
                f"发件人: \"王工\"<wang@customer.example>;\n发送时间: 2026年11月23日\n{OLD}"),
     "original-zh"),
    ("foxmail-nbsp", f"{NEW}\n\n------------------\u00a0原始邮件\u00a0------------------\n{OLD}",
     "original-zh"),
    ("gmail-zh", f"{NEW}\n\n王工 <wang@customer.example> 于2026年11月23日周一 10:00写道：\n\n> {OLD}",
     "wrote-zh"),
    ("qq-zh", f"{NEW}\n\n在 2026年11月23日 10:00，王工 写道:\n> {OLD}", "wrote-zh"),
    ("gmail-en", (f"{NEW}\n\nOn Mon, Nov 23, 2026 at 10:00 AM Wang <wang@customer.example> wrote:\n\n"
                 f"> {OLD}"), "wrote-en"),
    ("gmail-en-wrapped", (f"{NEW}\n\nOn Mon, Nov 23, 2026 at 10:00 AM Wang Gong <\n"
                         f"wang@customer.example> wrote:\n\n> {OLD}"), "wrote-en"),
    ("angle-quote", f"{NEW}\n\n> {OLD}\n> 王工", "angle-quote"),
    ("no-history", NEW, None),
]


@pytest.mark.parametrize(("text", "marker"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_new_text_is_what_the_writer_wrote(text, marker):
    split = split_reply(text)
    assert split.new_text == NEW
    assert split.marker == marker
    assert (OLD in split.quoted) is (marker is not None)


def test_interleaved_answers_keep_the_unquoted_lines():
    split = split_reply("> 什么时候修好?\n今天下午。\n> 需要停线吗?\n不需要。")
    assert split.new_text == "今天下午。\n不需要。"
    assert "什么时候修好" in split.quoted


@pytest.mark.parametrize("prose", [
    "From: 这里写的是来源说明, 不是邮件头",
    "发件人: 我自己\n\n后面没有别的邮件头字段。",
    "我写道: 这只是一句话里的冒号, 后面还有字",
])
def test_a_lone_header_word_in_prose_cuts_nothing(prose):
    assert split_reply(prose).new_text == prose


def test_html_only_outlook_reply_splits_after_conversion():
    html = (f"<div><p>{NEW}</p></div><div style='border-top:solid #E1E1E1 1.0pt'>"
            "<p><b>发件人:</b> 王工 &lt;wang@customer.example&gt;<br><b>发送时间:</b> 2026年11月23日"
            f"<br><b>主题:</b> 设备故障</p></div><p>{OLD}</p>")
    split = split_reply(html_to_text(html))
    assert split.new_text == NEW and OLD in split.quoted


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_splitting_never_loses_or_invents_text(text):
    split = split_reply(text)
    normal = text.replace("\r\n", "\n").replace("\r", "\n")
    for line in split.new_text.split("\n"):
        assert line.strip() in normal
    assert len(split.new_text) <= len(normal)


@given(st.lists(st.text(alphabet="王工您好维修已到现场 ,。", min_size=1, max_size=20), min_size=1,
                max_size=5))
def test_text_above_a_foxmail_marker_is_always_the_new_text(lines):
    new = "\n".join(lines).strip()
    text = f"{new}\n------------------ 原始邮件 ------------------\n{OLD}"
    assert split_reply(text).new_text == new
