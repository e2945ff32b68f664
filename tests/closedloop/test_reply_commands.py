"""Commands in the first lines of a staff reply: what is read, what is refused, what is public."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.closedloop.reply_commands import (
    COMMANDS,
    MAX_COMMAND_LINES,
    CommandSpec,
    People,
    choice,
    parse_reply,
)
from gateway.model import Address, Status, Urgency
from gateway.usecases.reply_actions import HANDLERS

ZHANG = Address("张三", "zhang.san@corp.example")
PEOPLE = People({"张三": ZHANG})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("状态: 处理中", [("status", Status.IN_PROGRESS)]),
        ("状态：已完成", [("status", Status.RESOLVED)]),
        ("狀態: 處理中", [("status", Status.IN_PROGRESS)]),
        ("Status: in progress", [("status", Status.IN_PROGRESS)]),
        ("STATUS: Done", [("status", Status.RESOLVED)]),
        ("已完成", [("status", Status.RESOLVED)]),
        ("已完成。", [("status", Status.RESOLVED)]),
        ("#close", [("status", Status.CLOSED)]),
        ("处理中\n责任人: 张三 <Zhang.San@corp.example>",
         [("status", Status.IN_PROGRESS), ("owner", ZHANG)]),
        ("责任人：张三", [("owner", ZHANG)]),
        ("Owner: li@corp.example", [("owner", Address("", "li@corp.example"))]),
        ("紧急程度: 特急", [("urgency", Urgency.CRITICAL)]),
        ("紧急程度：【紧急】", [("urgency", Urgency.URGENT)]),
        ("Urgency: normal", [("urgency", Urgency.NORMAL)]),
        ("解决方案: 更换密封件\n已试机\n\n谢谢", [("resolution", "更换密封件\n已试机")]),
        ("ｓｔａｔｕｓ：ｄｏｎｅ", [("status", Status.RESOLVED)]),
    ],
)
def test_commands_are_read_as_people_write_them(text, expected):
    parsed = parse_reply(text, PEOPLE)
    assert parsed.ok
    assert [(c.name, c.value) for c in parsed.commands] == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("状态: 半完成", "状态只能是"),
        ("责任人: 不认识的人", "姓名 <邮箱地址>"),
        ("紧急程度: 很急很急", "普通、紧急 或 特急"),
        ("状太: 已完成", "无法识别的指令"),
        ("stauts: done", "是否想写「status」"),
        ("#archive", "无法识别的指令"),
        ("状态: 处理中\n优先级: 高", "无法识别的指令"),
        ("解决方案:", "内容不能为空"),
    ],
)
def test_unknown_or_malformed_commands_are_problems_and_nothing_else(text, problem):
    parsed = parse_reply(text, PEOPLE)
    assert not parsed.ok and parsed.commands == ()
    assert problem in str(parsed.problems[0])
    assert parsed.public_text == ""


@pytest.mark.parametrize(
    "prose",
    [
        "陈女士：您好！备件已发出。",
        "注意: 明天停机检修",
        "Dear Mr Wang: the part ships today.",
        "您好:\n状况如下",
        "3号线已恢复。",
    ],
)
def test_prose_with_colons_is_not_a_command(prose):
    parsed = parse_reply(prose, PEOPLE)
    assert parsed.ok and parsed.commands == () and parsed.public_text == prose


def test_command_lines_and_remarks_are_cut_from_the_public_text():
    parsed = parse_reply("陈女士您好：\n状态: 处理中\n备注: 供应商很慢\n\n维修人员已到现场。", PEOPLE)
    assert [c.name for c in parsed.commands] == ["status", "note"]
    assert parsed.public_text == "陈女士您好：\n\n维修人员已到现场。"
    assert not parsed.internal


def test_a_reply_beginning_with_a_remark_is_internal_whole():
    parsed = parse_reply("备注: 供应商很慢\n\n客户那边先别说。", PEOPLE)
    assert parsed.internal and parsed.public_text == ""


def test_commands_below_the_first_lines_are_prose():
    text = "\n".join(["正文"] * MAX_COMMAND_LINES + ["状态: 已完成"])
    assert parse_reply(text, PEOPLE).commands == ()


def test_every_command_has_keywords_and_a_handler():
    assert all(spec.keywords for spec in COMMANDS)
    assert {spec.name for spec in COMMANDS} == set(HANDLERS)


def test_a_new_command_is_one_row():
    row = CommandSpec("archive_class", ("归档类别", "archive"),
                      choice({"重要": "important", "一般": "ordinary"}, "归档类别只能是 重要 或 一般"),
                      "归档类别: 重要 | 一般")
    table = (*COMMANDS, row)
    parsed = parse_reply("归档类别：重要\n状态: 处理中", PEOPLE, table)
    assert [(c.name, c.value) for c in parsed.commands] == [
        ("archive_class", "important"), ("status", Status.IN_PROGRESS)]
    assert "归档类别只能是" in str(parse_reply("Archive: 很重要", PEOPLE, table).problems[0])


@given(st.text(max_size=200))
def test_parsing_is_all_or_nothing(text):
    parsed = parse_reply(text, PEOPLE)
    assert not (parsed.problems and parsed.commands)
    if parsed.internal:
        assert parsed.public_text == ""


@given(st.sampled_from(sorted(k for spec in COMMANDS for k in spec.keywords)),
       st.sampled_from([":", "：", " : ", "："]))
def test_every_keyword_with_either_colon_is_a_command(keyword, colon):
    parsed = parse_reply(f"{keyword}{colon}已完成", PEOPLE)
    assert parsed.commands or parsed.problems  # read, or refused with a reason; never prose


_REMARK = st.text(alphabet="供应商备件很慢三天客户先别说明白 ,。", min_size=1, max_size=30).filter(str.strip)


@given(st.lists(_REMARK, min_size=1, max_size=4), _REMARK,
       st.sampled_from(["状态: 处理中", "已完成", "责任人: 张三", "紧急程度: 特急"]))
def test_a_remark_never_reaches_the_public_text(remark_lines, public, command):
    remark = "\n".join(remark_lines)
    parsed = parse_reply(f"{command}\n备注: {remark}\n\n{public}", PEOPLE)
    assert parsed.ok
    assert parsed.commands[-1].value == "\n".join(line.strip() for line in remark_lines).strip()
    assert parsed.public_text == public.strip()  # the public paragraph, and nothing else


@pytest.mark.parametrize(("text", "name", "value"), [
    ("部门: 采购部", "department", "采购部"), ("Department: 采购处", "department", "采购处"),
    ("部門：財務處", "department", "財務處"), ("关联项目: 华东仓扩建", "project", "华东仓扩建"),
    ("Project: Line 3 retrofit", "project", "Line 3 retrofit"),
])
def test_department_and_project_commands(text, name, value):
    parsed = parse_reply(text + "\n\n好的")
    assert [(c.name, c.value) for c in parsed.commands] == [(name, value)]
    assert parsed.public_text == "好的"
