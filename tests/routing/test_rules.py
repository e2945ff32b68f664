"""Rule files and routing: the shipped rules, each condition, explanations, and load errors."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rulefiles import SHIPPED, copy_rules, only_rule

from gateway.errors import RuleError
from gateway.model import Address, Attachment, InboundMail, SubjectTag, Urgency
from gateway.routing.conditions import CONDITIONS
from gateway.routing.load import load_rules
from gateway.routing.route import Decision, route
from gateway.routing.ruleset import RuleSet

INTERNAL = ("corp.example",)


def mail(
    subject: str = "问候",
    sender: str = "someone@elsewhere.example",
    *,
    text: str = "",
    to: tuple[str, ...] = ("gateway@corp.example",),
    cc: tuple[str, ...] = (),
    delivered_to: tuple[str, ...] = (),
    attachments: int = 0,
) -> InboundMail:
    return InboundMail(
        message_id="m@test", message_id_synthetic=False, in_reply_to=(), references=(),
        subject=subject, from_addr=Address("", sender), sender=None, reply_to=(),
        to=tuple(Address("", a) for a in to), cc=tuple(Address("", a) for a in cc),
        delivered_to=delivered_to, date=None, text=text, html=None,
        attachments=tuple(Attachment(f"a{i}.pdf", "application/pdf", 10)
                          for i in range(attachments)),
        auto=None, auto_reason=None, x_loop=(), defects=(), size=100,
    )


def tag(title: str = "问候", department: str | None = None,
        urgency: Urgency = Urgency.NORMAL) -> SubjectTag:
    return SubjectTag(urgency=urgency, urgency_tagged=urgency is not Urgency.NORMAL,
                      department=department, title=title, record_id=None, prefixes=(),
                      is_reply=False, is_forward=False)


@cache
def shipped() -> RuleSet:
    return load_rules(SHIPPED)


@pytest.fixture
def rules() -> RuleSet:
    return shipped()


def decide(rules: RuleSet, subject: str = "问候", sender: str = "someone@elsewhere.example",
           department: str | None = None, urgency: Urgency = Urgency.NORMAL,
           **mail_args) -> Decision:
    return route(mail(subject, sender, **mail_args), tag(subject, department, urgency), rules,
                 internal_domains=INTERNAL)


# --- the shipped rules -------------------------------------------------------------------

def test_shipped_rules_load_with_versions(rules):
    assert set(rules.versions) == {"departments.toml", "parties.toml", "routing.toml",
                                   "outbound.toml"}
    assert all(len(v) == 12 for v in rules.versions.values())
    assert len(rules.rules) >= 10 and len(rules.directory.departments) >= 11
    assert rules.default.department.name == "客服中心" and rules.default.id_prefix == "NX"


@pytest.mark.parametrize(
    ("subject", "sender", "department", "urgency", "want_dept", "want_rule", "want_type"),
    [
        # The integration tests' mail: tagged 生产部, a fault.
        ("【紧急】生产部-设备故障通知", "wang@customer.example", "生产部", Urgency.URGENT,
         "生产部", "设备故障转生产部", "故障"),
        ("[URGENT] Production line stopped", "ops@customer.example", None, Urgency.URGENT,
         "生产部", "设备故障转生产部", "故障"),
        ("客户投诉-包装破损", "a@customer.example", None, Urgency.NORMAL,
         "质量部", "投诉转质量部", "投诉"),
        ("【緊急】客戶投訴-包裝破損", "zhang@hk-partner.example", None, Urgency.URGENT,
         "质量部", "投诉转质量部", "投诉"),
        # The subject names a department the directory knows: the sender decided.
        ("生产部-关于货物质量的投诉", "a@customer.example", "生产部", Urgency.NORMAL,
         "生产部", "投诉转质量部", "投诉"),
        ("3月发票请查收", "billing@supplier.example", None, Urgency.NORMAL,
         "财务部", "发票转财务部", "咨询"),
        ("原材料交付延期通知", "li@steel-supplier.example", None, Urgency.NORMAL,
         "采购部", "供应商来信转采购部", "其他"),
        ("生产部-交期调整", "li@supplier.example", "生产部", Urgency.NORMAL,
         "生产部", "subject-department", "其他"),
        ("关于新版标签合规要求的通知", "notice@samr.gov.cn", None, Urgency.CRITICAL,
         "质量部", "监管来文转质量部", "其他"),
        ("询价: 冷轧钢板", "buyer@bigcustomer.example", None, Urgency.NORMAL,
         "销售部", "客户询价转销售部", "需求"),
        ("OA系统密码无法重置", "zhao.min@corp.example", None, Urgency.NORMAL,
         "信息中心", "IT故障转信息中心", "故障"),
        ("2026年体检安排", "wu.jing@corp.example", None, Urgency.NORMAL,
         "人力资源部", "人事事务转人力资源部", "咨询"),
        ("[一般] 产品功能优化建议", "chen.mei@bigcustomer.example", None, Urgency.NORMAL,
         "客服中心", "建议", "建议"),
        ("市场部-新品推广建议", "zhao.min@corp.example", "市场部", Urgency.NORMAL,
         "市场部", "建议", "建议"),
        ("你好", "someone@elsewhere.example", None, Urgency.NORMAL,
         "客服中心", "default", "其他"),
    ],
)
def test_shipped_rule_intent(rules, subject, sender, department, urgency, want_dept,
                             want_rule, want_type):
    decision = decide(rules, subject, sender, department, urgency)
    assert (decision.department.name, decision.rule_name, decision.problem_type) == (
        want_dept, want_rule, want_type)
    assert decision.id_prefix == "NX" and decision.rule_file == "routing.toml"


def test_tagged_production_mail_reaches_the_production_mailbox(rules):
    decision = decide(rules, "【紧急】生产部-设备故障通知", "wang@customer.example", "生产部",
                      Urgency.URGENT)
    assert [a.addr for a in decision.department.mailbox_addresses] == ["production@corp.example"]


def test_critical_mail_copies_the_head_and_goes_on(rules):
    decision = decide(rules, "【特急】生产部-设备故障", "wang@customer.example", "生产部",
                      Urgency.CRITICAL)
    assert decision.owner.addr == "wang.weixiu@corp.example"
    assert [a.addr for a in decision.cc] == ["li.qiang@corp.example"]
    assert [o.rule for o in decision.trace if o.matched] == ["特急抄送负责人", "设备故障转生产部"]


def test_copy_of_head_is_dropped_when_the_head_owns_the_record(rules):
    decision = decide(rules, "【特急】市场部-发布会", "x@elsewhere.example", "市场部",
                      Urgency.CRITICAL)
    assert decision.owner.addr == "zhao.min@corp.example" and decision.cc == ()


def test_regulator_rule_copies_a_department_named_in_cc(rules):
    decision = decide(rules, "整改通知", "notice@samr.gov.cn")
    assert [a.addr for a in decision.cc] == ["zheng.hua@corp.example"]


# --- department from the subject, aliases, owners -----------------------------------------

@pytest.mark.parametrize(
    ("department", "want", "reason_part"),
    [
        ("生产部", "生产部", "subject says so"),
        ("生产", "生产部", "subject says so"),          # alias
        ("production", "生产部", "subject says so"),    # alias, any case
        ("IT", "信息中心", "subject says so"),
        ("宣传部", "客服中心", "subject names 宣传部, not in the directory"),
        (None, "客服中心", "subject names none"),
    ],
)
def test_department_from_tag_else_default(rules, department, want, reason_part):
    decision = decide(rules, "一般事项", department=department)
    assert decision.department.name == want
    assert reason_part in decision.department_reason


def test_directory_lookups(rules):
    directory = rules.directory
    assert directory.find("Production") is directory.find("生产中心") is directory.find("生产部")
    assert directory.find("不存在") is None and directory.find(None) is None
    assert {"生产部", "生产", "IT", "客服中心"} <= directory.names
    assert directory.department_of_address("LI.QIANG@corp.example").name == "生产部"
    assert directory.department_of_address("quality@corp.example").name == "质量部"
    assert directory.is_member("wang.gong@corp.example")
    assert not directory.is_member("wang@customer.example")


def test_owner_defaults_to_the_department_head(rules):
    decision = decide(rules, "一般事项", department="财务部")
    assert decision.owner == Address("钱芳", "qian.fang@corp.example")


@pytest.mark.parametrize(
    ("to", "delivered_to", "want"),
    [
        (("gateway+quality@corp.example",), (), "质量部"),
        (("GATEWAY+QUALITY@corp.example".lower(),), (), "质量部"),
        ((), ("gateway+purchasing@corp.example",), "采购部"),
        (("gateway+qualityx@corp.example",), (), "客服中心"),  # plus part must match exactly
        (("gateway@corp.example",), (), "客服中心"),
    ],
)
def test_plus_addressed_recipient(rules, to, delivered_to, want):
    assert decide(rules, "一般事项", to=to, delivered_to=delivered_to).department.name == want


def test_base_recipient_also_matches_plus_addresses(tmp_path):
    folder = copy_rules(tmp_path, extra=(
        "[[rule]]\nname = 'base'\nrecipient = ['gateway@corp.example']\n"
        "department = '研发部'\n"))
    rules = load_rules(folder)
    assert decide(rules, "x", to=("gateway+whatever@corp.example",)).department.name == "研发部"
    assert decide(rules, "x", to=("other@corp.example",)).department.name == "客服中心"


@pytest.mark.parametrize(
    ("domain", "organisation"),
    [
        ("customer.example", "客户A公司"),
        ("mail.customer.example", "客户A公司"),   # subdomain
        ("a.b.bigcustomer.example", "大客户集团"),
        ("notcustomer.example", None),           # a suffix is not a subdomain
        ("samr.gov.cn", "国家市场监督管理总局"),
        ("", None),
    ],
)
def test_party_lookup(rules, domain, organisation):
    party = rules.parties.party_for(domain)
    assert (party.organisation if party else None) == organisation


@pytest.mark.parametrize(
    ("sender", "internal"),
    [
        ("li.qiang@corp.example", True),
        ("someone@mail.corp.example", True),        # internal subdomain
        ("wang@customer.example", False),
        ("wang.gong@corp.example", True),
        ("evil@corp.example.attacker.example", False),
    ],
)
def test_internal_sender(rules, sender, internal):
    assert decide(rules, "x", sender).internal is internal


def test_directory_member_outside_internal_domains_is_internal(rules):
    decision = route(mail("x", "li.qiang@corp.example"), tag("x"), rules, internal_domains=())
    assert decision.internal is True


# --- conditions each do one thing ---------------------------------------------------------

@pytest.mark.parametrize(
    ("rule_text", "mail_args", "want"),
    [
        ("sender = ['*@customer.example']", {"sender": "wang@customer.example"}, True),
        ("sender = ['*@customer.example']", {"sender": "wang@supplier.example"}, False),
        ("sender_domain = ['customer.example']", {"sender": "x@a.customer.example"}, True),
        ("party_kind = ['supplier']", {"sender": "x@supplier.example"}, True),
        ("party_kind = ['supplier']", {"sender": "x@customer.example"}, False),
        ("body_keywords = ['液压']", {"text": "注塑机液压故障"}, True),
        ("body_regex = 'PO-\\d{4}'", {"text": "订单 po-2026-118"}, True),
        ("subject_regex = '^re:'", {"subject": "答复: x"}, False),
        ("has_attachments = true", {"attachments": 1}, True),
        ("has_attachments = true", {}, False),
        ("internal = false", {"sender": "x@customer.example"}, True),
        ("urgency = ['紧急', 'critical']", {}, False),
    ],
)
def test_each_condition(tmp_path, rule_text, mail_args, want):
    folder = copy_rules(tmp_path, routing=only_rule(f"name = 'probe'\n{rule_text}\n"
                                                     "department = '研发部'\n"))
    rules = load_rules(folder)
    args = {"subject": "x", **mail_args}
    decision = route(mail(**args), tag(args["subject"]), rules, internal_domains=INTERNAL)
    assert (decision.rule_name == "probe") is want


@pytest.mark.parametrize(
    ("department", "want"),
    [("生产部", True), ("生产中心", True), ("质量部", False), (None, False)],
)
def test_department_tag_condition_resolves_aliases(tmp_path, department, want):
    folder = copy_rules(tmp_path, routing=only_rule("name = 'probe'\n"
                                                     "department_tag = ['Production']\n"))
    decision = route(mail("x"), tag("x", department), load_rules(folder),
                     internal_domains=INTERNAL)
    assert (decision.rule_name == "probe") is want


@settings(max_examples=200, deadline=None)
@given(subject=st.text(max_size=40), sender=st.emails(), department=st.one_of(
    st.none(), st.sampled_from(["生产部", "IT", "宣传部", ""])),
    urgency=st.sampled_from(list(Urgency)))
def test_route_is_total(subject, sender, department, urgency):
    rules = shipped()
    decision = route(mail(subject, sender.lower(), text=subject), tag(subject, department, urgency),
                     rules, internal_domains=INTERNAL)
    assert decision.department in rules.directory.departments
    assert len(decision.trace) == len(rules.rules)
    json.dumps(decision.as_dict())


def test_every_condition_is_documented_in_routing_toml():
    routing = (SHIPPED / "routing.toml").read_text(encoding="utf-8")
    for name in CONDITIONS:
        assert f"#   {name}" in routing, f"{name} is not documented in routing.toml"


# --- explanations -------------------------------------------------------------------------

def test_explain_names_matched_skipped_and_unreached_rules(rules):
    decision = decide(rules, "客户投诉-包装破损", "a@customer.example")
    lines = decision.explain()
    assert any(line.startswith("matched: rule '投诉转质量部' (routing.toml:") and
               "subject contains 投诉" in line for line in lines)
    assert any(line.startswith("skipped: rule '质量专用地址'") and "recipient" in line
               for line in lines)
    assert any(line.startswith("not reached: rule '建议'") for line in lines)
    assert any(line.startswith("department: 质量部") and "id prefix NX" in line
               for line in lines)
    skipped = next(o for o in decision.trace if o.rule == "采购专用地址")
    assert skipped.reason == "recipient: no recipient matches gateway+purchasing@corp.example"
    unreached = next(o for o in decision.trace if o.rule == "IT故障转信息中心")
    assert not unreached.evaluated and unreached.reason == "rule '投诉转质量部' matched first"


def test_rule_lines_point_at_the_rule_headers(rules):
    text = (SHIPPED / "routing.toml").read_text(encoding="utf-8").splitlines()
    for rule in rules.rules:
        assert text[rule.line - 1] == "[[rule]]"
        assert text[rule.line] == f'name = "{rule.name}"'


def test_as_dict_is_json_serialisable(rules):
    decision = decide(rules, "【特急】生产部-设备故障", "wang@customer.example", "生产部",
                      Urgency.CRITICAL)
    data = json.loads(json.dumps(decision.as_dict(), ensure_ascii=False))
    assert data["department"] == "生产部" and data["rule"] == "设备故障转生产部"
    assert data["owner"] == "王维修 <wang.weixiu@corp.example>"
    assert data["party"] == {"domain": "customer.example", "organisation": "客户A公司",
                             "kind": "customer"}
    assert data["internal"] is False and data["rule_version"] == rules.versions["routing.toml"]
    assert {"rule", "matched", "reason"} <= set(data["trace"][0])


# --- load errors, each at file:line -------------------------------------------------------

def problems(folder: Path) -> list[str]:
    with pytest.raises(RuleError) as caught:
        load_rules(folder)
    assert caught.value.exit_code == 65
    return [str(p) for p in caught.value.problems]


def line_of(folder: Path, name: str, needle: str) -> int:
    lines = (folder / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_bad_regex_is_reported_at_its_line(tmp_path):
    folder = copy_rules(tmp_path, extra="[[rule]]\nname = 'broken'\nsubject_regex = '(unclosed'\n")
    (found,) = problems(folder)
    line = line_of(folder, "routing.toml", "(unclosed")
    assert found.startswith(f"routing.toml:{line}: rule 'broken': subject_regex: ")
    assert "missing )" in found


def test_toml_syntax_error_gives_file_and_line(tmp_path):
    folder = copy_rules(tmp_path, extra="[[rule]]\nname = 'x'\ndepartment = 质量部\n")
    (found,) = problems(folder)
    line = line_of(folder, "routing.toml", "department = 质量部")
    assert found.startswith(f"routing.toml:{line}: TOML syntax: ")


def test_unknown_key_suggests_the_close_one(tmp_path):
    folder = copy_rules(tmp_path, extra="[[rule]]\nname = 'typo'\nsubject_keyword = ['x']\n")
    (found,) = problems(folder)
    line = line_of(folder, "routing.toml", "subject_keyword =")
    assert found == (f"routing.toml:{line}: rule 'typo': unknown key 'subject_keyword'; "
                     "did you mean 'subject_keywords'?")


def test_unknown_department_is_an_error(tmp_path):
    folder = copy_rules(tmp_path, extra="[[rule]]\nname = 'lost'\ndepartment = '生产处'\n")
    (found,) = problems(folder)
    line = line_of(folder, "routing.toml", "'生产处'")
    assert found.startswith(f"routing.toml:{line}: rule 'lost': department: unknown department")
    assert "did you mean '生产" in found  # 生产部 or its alias 生产


def test_duplicate_department_name_is_an_error(tmp_path):
    shipped = (SHIPPED / "departments.toml").read_text(encoding="utf-8")
    folder = copy_rules(tmp_path, departments=shipped + "\n[[department]]\nname = \"质量部\"\n")
    (found,) = problems(folder)
    lines = (folder / "departments.toml").read_text(encoding="utf-8").splitlines()
    first = lines.index('name = "质量部"')  # 1-based line of its [[department]] header
    assert found == (f"departments.toml:{len(lines)}: department '质量部': '质量部' is already "
                     f"used by the department at line {first}")


def test_alias_used_twice_is_an_error(tmp_path):
    shipped = (SHIPPED / "departments.toml").read_text(encoding="utf-8")
    folder = copy_rules(tmp_path, departments=shipped + "\n[[department]]\nname = \"车间\"\n"
                        "aliases = [\"production\"]\n")
    (found,) = problems(folder)
    line = line_of(folder, "departments.toml", '"production"')
    assert found.startswith(f"departments.toml:{line}: department '车间': 'production' is already")


def test_unknown_table_suggests_the_close_one(tmp_path):
    routing = (SHIPPED / "routing.toml").read_text(encoding="utf-8")
    folder = copy_rules(tmp_path, routing=routing + "\n[defualt]\nx = 1\n")
    (found,) = problems(folder)
    line = line_of(folder, "routing.toml", "[defualt]")
    assert found == f"routing.toml:{line}: unknown key 'defualt'; did you mean 'default'?"


def test_lines_inside_multiline_strings_are_not_keys(tmp_path):
    folder = copy_rules(tmp_path, extra='[[rule]]\nname = "m"\ndescription = """\n'
                        'subject_regex = (\n"""\nurgency = ["soon"]\n')
    (found,) = problems(folder)
    line = line_of(folder, "routing.toml", 'urgency = ["soon"]')
    assert found.startswith(f"routing.toml:{line}: rule 'm': urgency: unknown urgency soon")


@pytest.mark.parametrize(
    ("rule_text", "fragment"),
    [
        ("owner = 'not an address'", "owner: not a mail address"),
        ("cc = ['li@corp.example, x@corp.example']", "cc: not a mail address"),
        ("urgency = ['asap']", "urgency: unknown urgency asap"),
        ("problem_type = '抱怨'", "problem_type: '抱怨' is not one of"),
        ("id_prefix = 'nx1'", "id_prefix: 'nx1' is not 1–6 capital letters"),
        ("party_kind = ['vendor']", "party_kind: 'vendor' is not one of"),
        ("sender = ['customer.example']", "sender: not an address pattern"),
        ("has_attachments = 'yes'", "has_attachments: expected true or false"),
        ("deadlines = { urgent = { response = 'soon' } }",
         "deadlines: deadlines.urgent.response: cannot read 'soon'"),
        ("deadlines = { asap = { response = '1 hour' } }", "deadlines: deadlines.asap: unknown"),
    ],
)
def test_bad_values_are_reported_at_their_key(tmp_path, rule_text, fragment):
    folder = copy_rules(tmp_path, extra=f"[[rule]]\nname = 'bad'\n{rule_text}\n")
    (found,) = problems(folder)
    line = line_of(folder, "routing.toml", rule_text)
    assert found.startswith(f"routing.toml:{line}: rule 'bad': {fragment}")


@pytest.mark.parametrize("missing", ["departments.toml", "routing.toml"])
def test_missing_required_file(tmp_path, missing):
    folder = copy_rules(tmp_path)
    (folder / missing).unlink()
    (found,) = problems(folder)
    assert found.startswith(f"{missing}: required file is missing")


def test_parties_file_is_optional(tmp_path):
    folder = copy_rules(tmp_path)
    (folder / "parties.toml").unlink()
    rules = load_rules(folder)
    assert rules.parties.party_for("customer.example") is None
    assert "parties.toml" not in rules.versions


def test_several_problems_are_reported_at_once(tmp_path):
    folder = copy_rules(
        tmp_path,
        parties="[[party]]\ndomain = 'x.example'\norganisation = 'X'\nkind = 'friend'\n",
        extra="[[rule]]\nname = 'a'\nsubject_regex = '['\ndepartment = '无此部门'\n"
              "[[rule]]\nname = 'a'\ncolour = 'red'\n",
    )
    found = problems(folder)
    assert len(found) == 5, found
    assert [p.split(":")[0] for p in found].count("routing.toml") == 4
    assert any(p.startswith("parties.toml:4: party 'x.example': kind:") for p in found)
    assert any("name already used by the rule at line" in p for p in found)
    assert any("unknown key 'colour'" in p for p in found)


def test_missing_default_table_is_an_error(tmp_path):
    folder = copy_rules(tmp_path, routing="[[rule]]\nname = 'x'\ndepartment = '质量部'\n")
    (found,) = problems(folder)
    assert found.startswith("routing.toml: missing [default] table")


def test_a_rule_can_set_its_own_deadlines(tmp_path):
    folder = copy_rules(tmp_path, routing=only_rule(
        "name = 'fast'\nurgency = ['urgent']\ndepartment = '生产部'\n"
        "deadlines = { urgent = { response = '8 working hours' } }\n"))
    rules = load_rules(folder)
    assert decide(rules, urgency=Urgency.URGENT).deadlines == {
        "urgent": {"response": "8 working hours"}}
    assert decide(rules, urgency=Urgency.NORMAL).deadlines is None
