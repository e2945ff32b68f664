"""The pure parts of messages the enterprise starts: draft header lines, receivers, approval."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.closedloop.approval import (
    ApprovalRule,
    Approver,
    OutboundRules,
    Verdict,
    approval_chain,
    escalation_target,
    parse_answer,
    read_outbound_rules,
)
from gateway.closedloop.draft import parse_draft, resolve_receivers, split_items
from gateway.deadlines.duration import Duration, Unit
from gateway.model import Address, Direction, Urgency
from gateway.routing.directory import Department, Directory, Parties, Party

HEAD = Address("李强", "li.qiang@corp.example")
DEPUTY = Address("黄副总", "huang@corp.example")
GM = Address("高总", "gao@corp.example")
PRODUCTION = Department("生产部", ("生产",), (Address("", "production@corp.example"),), HEAD,
                        (Address("王工", "wang@corp.example"),), "NX", DEPUTY)
GM_OFFICE = Department("总经理办公室", (), (), GM, (), "NX")
DIRECTORY = Directory((PRODUCTION, GM_OFFICE))
PARTIES = Parties((Party("supplier.example", "供应商B公司", "supplier"),
                   Party("samr.gov.cn", "市场监管总局", "regulator")))
GROUPS = {"全体员工": Address("全体员工", "all@corp.example")}


@pytest.mark.parametrize(("text", "to", "cc", "reply_by", "needed", "receipt"), [
    ("收件人: a@x.example\n\n正文", ("a@x.example",), (), None, True, False),
    ("收件人：供应商B <b@supplier.example>，生产部\n抄送： 全体员工\n\n正文",
     ("供应商B <b@supplier.example>", "生产部"), ("全体员工",), None, True, False),
    ("To: a@x.example; b@y.example\nCc: c@z.example\nReply-by: 4 hours\nReply-needed: no\n"
     "Receipt: yes\n\nbody", ("a@x.example", "b@y.example"), ("c@z.example",),
     Duration(4, Unit.CLOCK_HOURS), False, True),
    ("\n\n收件人:生产部、质量部\n期望反馈: 3个工作日\n需反馈: 是\n回执: 否\n正文直接开始",
     ("生产部", "质量部"), (), Duration(3, Unit.WORKING_DAYS), True, False),
    ("收件人: a@x.example\n期望反馈: 2026-12-01 17:00\n\n正文", ("a@x.example",), (),
     datetime(2026, 12, 1, 17, 0), True, False),
    ('收件人: "Wang, Li" <w@x.example>, b@y.example\n\n正文',
     ('"Wang, Li" <w@x.example>', "b@y.example"), (), None, True, False),
])
def test_header_lines_in_either_language_and_colon(text, to, cc, reply_by, needed, receipt):
    draft = parse_draft(text)
    assert draft is not None and not draft.problems
    assert (draft.to, draft.cc, draft.reply_by, draft.reply_needed, draft.receipt) == (
        to, cc, reply_by, needed, receipt)
    assert draft.body.strip() and "收件人" not in draft.body and "To:" not in draft.body


@pytest.mark.parametrize("text", [
    "你好\n收件人: a@x.example\n正文",  # not at the top: an ordinary request
    "状态: 已完成\n收件人: a@x.example",
    "请帮忙看一下",
    "",
])
def test_mail_without_receiver_lines_at_the_top_is_no_draft(text):
    assert parse_draft(text) is None


@pytest.mark.parametrize(("text", "problem"), [
    ("收件人: a@x.example\n需反馈: 也许\n\n正文", "是」或「否"),
    ("收件人: a@x.example\n期望反馈: 下周吧\n\n正文", "期望反馈"),
    ("收件人: a@x.example\n\n", "正文为空"),
])
def test_bad_values_are_problems_not_guesses(text, problem):
    draft = parse_draft(text)
    assert draft is not None and any(problem in p for p in draft.problems)


@given(st.lists(st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True),
                min_size=1, max_size=6),
       st.sampled_from([",", "，", ";", "；", "、"]))
def test_split_items_keeps_every_address(addresses, separator):
    assert split_items(f" {separator} ".join(addresses)) == tuple(addresses)


def test_receivers_resolve_to_addresses_and_the_direction_follows_them():
    draft = parse_draft("收件人: 陈经理 <b@supplier.example>, 生产部\n抄送: 全体员工\n\n正文")
    receivers = resolve_receivers(draft, DIRECTORY, PARTIES, GROUPS, ("corp.example",))
    assert not receivers.problems and receivers.direction is Direction.OUTBOUND
    assert [(r.kind, r.label) for r in receivers.all] == [
        ("outside", "供应商B公司"), ("department", "生产部"), ("group", "全体员工")]
    assert receivers.party_kinds == {"supplier"}
    assert receivers.all[1].addresses == PRODUCTION.mailbox_addresses
    internal = resolve_receivers(parse_draft("收件人: 生产, wang@corp.example\n\nx"), DIRECTORY,
                                 PARTIES, GROUPS, ("corp.example",))
    assert internal.direction is Direction.INTERNAL
    unknown = resolve_receivers(parse_draft("收件人: 某公司\n\nx"), DIRECTORY, PARTIES, GROUPS, ())
    assert unknown.problems and not unknown.all


RULES = OutboundRules((
    ApprovalRule("监管", ("head", "deputy", "general_manager"), Direction.OUTBOUND,
                 frozenset({"regulator"})),
    ApprovalRule("特急对外", ("head",), Direction.OUTBOUND, None, frozenset({Urgency.CRITICAL})),
    ApprovalRule("对外", ("head", "deputy"), Direction.OUTBOUND, id_prefix="NB"),
), officers={"general_manager": "总经理办公室"})


@pytest.mark.parametrize(("direction", "kinds", "urgency", "rule", "prefix"), [
    (Direction.OUTBOUND, {"regulator"}, Urgency.NORMAL, "监管", "NX"),
    (Direction.OUTBOUND, {"supplier"}, Urgency.CRITICAL, "特急对外", "NX"),
    (Direction.OUTBOUND, {"supplier"}, Urgency.NORMAL, "对外", "NB"),
    (Direction.INTERNAL, set(), Urgency.NORMAL, "内部信息直接传递", "NJ"),
])
def test_the_first_matching_rule_decides(direction, kinds, urgency, rule, prefix):
    found = RULES.rule_for(direction, kinds, urgency)
    assert found.name == rule and RULES.prefix_for(direction, found) == prefix


@pytest.mark.parametrize(("sender", "levels", "chain", "missing"), [
    ("wang@corp.example", ("head", "deputy", "general_manager"), [HEAD, DEPUTY, GM], ()),
    ("li.qiang@corp.example", ("head",), [], ()),  # the head sends: nobody to ask
    ("li.qiang@corp.example", ("head", "deputy"), [DEPUTY], ()),
    ("wang@corp.example", ("head", "legal"), [HEAD], ("法务",)),
    ("wang@corp.example", (), [], ()),
])
def test_chain_levels_come_from_the_directory(sender, levels, chain, missing):
    found, absent = approval_chain(levels, sender, PRODUCTION, DIRECTORY, RULES.officers)
    assert [a.address for a in found] == chain and absent == missing


def test_silence_goes_one_level_up():
    officers = RULES.officers
    assert escalation_target(Approver("head", HEAD), PRODUCTION, DIRECTORY, officers) == DEPUTY
    assert escalation_target(Approver("deputy", DEPUTY), PRODUCTION, DIRECTORY, officers) == GM


@pytest.mark.parametrize(("text", "verdict", "comment", "edited"), [
    ("同意", Verdict.APPROVE, "", None),
    ("批准。\n\n> 原文", Verdict.APPROVE, "> 原文", None),
    ("#approve 好的", Verdict.APPROVE, "好的", None),
    ("同意，可以发送", Verdict.APPROVE, "可以发送", None),
    ("驳回: 价格不对", Verdict.REJECT, "价格不对", None),
    ("驳回：价格不对\n请重新核算", Verdict.REJECT, "价格不对\n请重新核算", None),
    ("#reject 交期有误", Verdict.REJECT, "交期有误", None),
    ("修改为:\n新的正文\n第二行", Verdict.APPROVE, "修改后同意", "新的正文\n第二行"),
    ("修改为：新的正文", Verdict.APPROVE, "修改后同意", "新的正文"),
])
def test_the_approvers_answer(text, verdict, comment, edited):
    answer = parse_answer(text)
    assert answer is not None
    assert (answer.verdict, answer.comment, answer.edited) == (verdict, comment, edited)


@pytest.mark.parametrize("text", ["", "好像可以吧", "修改为:", "请再想想"])
def test_no_answer_is_guessed(text):
    assert parse_answer(text) is None


def test_rule_file_problems_point_at_their_lines():
    data = {"approval": [{"name": "x", "levels": ["董事长"], "direction": "sideways"}],
            "id_prefix": {"outbound": "nx"}, "officers": {"董事": "x"}}
    _, problems = read_outbound_rules(data, lambda table, i, key: 7)
    assert len(problems) == 4 and all(line == 7 for line, _ in problems)


@given(st.lists(st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True),
                min_size=1, max_size=4),
       st.sampled_from(["收件人", "To", "to", "收件者"]), st.sampled_from([":", "：", " : "]),
       st.text(alphabet="甲乙丙丁abc 。\n", min_size=1, max_size=40).filter(
           lambda t: t.strip() and ":" not in t))
def test_any_receivers_and_body_come_back_as_written(addresses, key, colon, body):
    draft = parse_draft(f"{key}{colon}{', '.join(addresses)}\n\n{body}")
    assert draft is not None and draft.to == tuple(addresses)
    assert draft.body == body.strip("\n")
