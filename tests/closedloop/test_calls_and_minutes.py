"""电话:, 会议纪要: and 对外: as staff write them, the call's moment, and 传递方式 kept as keys."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.closedloop.calls import Call, read_call
from gateway.closedloop.channels import channel_keys, channel_labels, channel_text, with_channel
from gateway.closedloop.reply_commands import parse_reply

SHANGHAI = ZoneInfo("Asia/Shanghai")
REPLY_AT = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)  # 12:30 in Shanghai


@pytest.mark.parametrize(
    ("text", "name", "value"),
    [
        ("电话: 11:20 已电话告知供应商, 对方确认今天到场",
         "phone", Call(time(11, 20), None, "供应商", "已电话告知供应商, 对方确认今天到场")),
        ("电话：11：20 与张经理通话，对方确认", "phone",
         Call(time(11, 20), None, "张经理", "与张经理通话,对方确认")),
        ("電話: 9点半 致电王工, 已到场", "phone", Call(time(9, 30), None, "王工", "致电王工, 已到场")),
        ("Phone: 9:05 called Mr. Li, parts ship tomorrow", "phone",
         Call(time(9, 5), None, "Mr. Li", "called Mr. Li, parts ship tomorrow")),
        ("电话: 客户来电催问进度", "phone", Call(None, None, "", "客户来电催问进度")),
        ("电话: 11月22日 16:40 联系了质量部周敏, 明天复检", "phone",
         Call(time(16, 40), (None, 11, 22), "质量部周敏", "联系了质量部周敏, 明天复检")),
        ("电话: 2026-11-22 8点 与供应商沟通", "phone",
         Call(time(8, 0), (2026, 11, 22), "供应商", "与供应商沟通")),
        ("会议纪要: 双方确认明天到场", "minutes", "双方确认明天到场"),
        ("会议纪要：\n1. 明天到场\n2. 质量部复检\n\n李强", "minutes", "1. 明天到场\n2. 质量部复检"),
        ("Minutes:", "minutes", ""),
        ("紀要: 已確認", "minutes", "已確認"),
        ("对外: 是", "external", True),
        ("對外：否", "external", False),
        ("External: yes", "external", True),
    ],
)
def test_calls_minutes_and_external_are_read_as_people_write_them(text, name, value):
    parsed = parse_reply(text)
    assert parsed.ok, parsed.problems
    assert [(c.name, c.value) for c in parsed.commands][0] == (name, value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("电话: 11:20", "请写明与谁通话"),
        ("电话: 25:10 与王工通话", "时间不对"),
        ("电话: 11月31日 10:00 与王工通话", "日期不对"),
        ("对外: 也许", "只能写 是 或 否"),
    ],
)
def test_unreadable_calls_are_problems_and_change_nothing(text, problem):
    parsed = parse_reply(text)
    assert parsed.commands == () and problem in str(parsed.problems[0])


@pytest.mark.parametrize(
    "signature",
    ["电话: 0571-8888 6666", "电话：+86 (571) 8888-6666 转 123", "Phone: +1 415 555 0100",
     "电话: 13800138000"],
)
def test_a_telephone_number_in_a_signature_is_prose(signature):
    parsed = parse_reply(f"已安排维修。\n\n李强\n{signature}")
    assert parsed.ok and parsed.commands == ()
    assert signature in parsed.public_text


@pytest.mark.parametrize(
    ("call", "local"),
    [
        (Call(time(11, 20), None, "", "x"), "2026-11-23 11:20"),  # earlier the same day
        (Call(time(23, 0), None, "", "x"), "2026-11-22 23:00"),  # after the reply: yesterday's
        (Call(None, None, "", "x"), "2026-11-23 12:30"),  # no time written: the reply's
        (Call(time(16, 0), (None, 11, 20), "", "x"), "2026-11-20 16:00"),
        (Call(time(16, 0), (2025, 12, 31), "", "x"), "2025-12-31 16:00"),
        (Call(time(9, 0), (None, 2, 29), "", "x"), "2026-02-28 09:00"),  # no 29th this year
    ],
)
def test_a_call_happens_on_the_replys_local_day_and_never_after_it(call, local):
    assert call.when(REPLY_AT, SHANGHAI).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") == local


@given(st.integers(0, 23), st.integers(0, 59),
       st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                    timezones=st.just(UTC)))
def test_a_call_with_only_a_time_is_within_a_day_before_the_reply(hour, minute, written):
    at = read_call(f"{hour}:{minute:02d} 与王工通话").when(written, SHANGHAI)
    assert written - at < timedelta(days=1) and at <= written
    assert (at.astimezone(SHANGHAI).hour, at.astimezone(SHANGHAI).minute) == (hour, minute)


@pytest.mark.parametrize(
    ("stored", "added", "after", "labels"),
    [
        ("email", "phone", "email+phone", ["邮件", "电话"]),
        ("email+phone", "phone", "email+phone", ["邮件", "电话"]),
        ("email+phone", "meeting", "email+phone+meeting", ["邮件", "电话", "会议"]),
        ("email+meeting", "phone", "email+phone+meeting", ["邮件", "电话", "会议"]),
        ("", "phone", "email+phone", ["邮件", "电话"]),
        (None, "meeting", "email+meeting", ["邮件", "会议"]),
        ("email+fax", "phone", "email+phone+fax", ["邮件", "电话", "fax"]),
    ],
)
def test_channels_add_up_in_the_registers_order(stored, added, after, labels):
    assert with_channel(stored, added) == after
    assert channel_labels(after) == labels
    assert channel_text(after) == "+".join(labels)


@given(st.lists(st.sampled_from(["email", "phone", "meeting", "paper"]), max_size=8))
def test_adding_channels_is_idempotent_and_order_free(keys):
    stored = "email"
    for key in keys:
        stored = with_channel(stored, key)
    assert with_channel(stored, keys[0] if keys else "email") == stored
    assert set(channel_keys(stored)) == {"email", *keys}
    reordered = "email"
    for key in reversed(keys):
        reordered = with_channel(reordered, key)
    assert reordered == stored
