"""Who may change a record: the decision, checked by example and against a plain oracle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.closedloop.permissions import RecordPeople, Role, decide, who_may_act
from gateway.model import Address
from gateway.routing.directory import Department, Directory


def dept(name: str, head: str | None, members=(), mailbox: str | None = None) -> Department:
    return Department(name, (), (Address("", mailbox),) if mailbox else (),
                      Address(name + "负责人", head) if head else None,
                      tuple(Address("", m) for m in members), "NX")


DIRECTORY = Directory((
    dept("生产部", "li.qiang@corp.example", ["wang.gong@corp.example"], "production@corp.example"),
    dept("质量部", "zhou.min@corp.example", ["qa1@corp.example"], "quality@corp.example"),
    dept("市场部", "zhao.min@corp.example", ["mk1@corp.example"]),
    dept("销售部", "liu.yang@corp.example", ["sales1@corp.example"]),
))
RECORD = RecordPeople(owner="wang.weixiu@corp.example", department="生产部",
                      departments=("生产部", "质量部"), originator="sales1@corp.example",
                      originator_department="销售部")
ADMINS = ("boss@corp.example",)


@pytest.mark.parametrize(
    ("sender", "role"),
    [
        ("wang.weixiu@corp.example", Role.OWNER),
        ("Wang.Weixiu@Corp.Example", Role.OWNER),
        ("li.qiang@corp.example", Role.RECEIVING_HEAD),
        ("wang.gong@corp.example", Role.RECEIVING_MEMBER),
        ("production@corp.example", Role.RECEIVING_MEMBER),
        ("zhou.min@corp.example", Role.INVOLVED_HEAD),
        ("qa1@corp.example", Role.INVOLVED_MEMBER),
        ("liu.yang@corp.example", Role.ORIGINATOR_HEAD),
        ("boss@corp.example", Role.ADMIN),
        ("zhao.min@corp.example", None),  # another department's head
        ("mk1@corp.example", None),
        ("sales1@corp.example", None),  # the originator may follow up, not run commands
        ("stranger@corp.example", None),
        ("", None),
    ],
)
def test_who_may_act_and_why(sender, role):
    decision = decide(sender, RECORD, DIRECTORY, ADMINS)
    assert decision.allowed is (role is not None) and decision.role == role
    assert bool(decision) is decision.allowed
    if role is None:
        assert "不是本记录的责任人" in decision.reason
    else:
        assert role.label in decision.reason


def test_the_refusal_names_who_may_act():
    lines = who_may_act(RECORD, DIRECTORY, ADMINS)
    assert lines == ("责任人 wang.weixiu@corp.example", "生产部、质量部 的负责人和成员",
                     "发起部门 销售部 的负责人 销售部负责人 <liu.yang@corp.example>", "网关管理员")
    assert who_may_act(RecordPeople(None, "生产部", (), "", None), DIRECTORY) == (
        "生产部 的负责人和成员",)


def test_the_originators_department_is_found_by_address_when_the_record_names_none():
    record = RecordPeople(None, "生产部", ("生产部",), "mk1@corp.example", None)
    assert decide("zhao.min@corp.example", record, DIRECTORY).role is Role.ORIGINATOR_HEAD


# --- against an oracle ----------------------------------------------------------------------

PEOPLE = [f"p{n}@corp.example" for n in range(12)]
NAMES = ["甲部", "乙部", "丙部", "丁部"]


@st.composite
def worlds(draw):
    people = st.sampled_from(PEOPLE)
    departments = tuple(
        dept(name, draw(st.none() | people), draw(st.lists(people, max_size=3)),
             draw(st.none() | st.just(f"box{i}@corp.example")))
        for i, name in enumerate(NAMES))
    record = RecordPeople(
        owner=draw(st.none() | people), department=draw(st.sampled_from(NAMES)),
        departments=tuple(draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))),
        originator=draw(people), originator_department=draw(st.none() | st.sampled_from(NAMES)))
    admins = tuple(draw(st.lists(people, max_size=2)))
    return Directory(departments), record, admins


def _oracle(sender: str, directory: Directory, record: RecordPeople, admins) -> bool:
    allowed = {record.owner, *admins}
    for name in (record.department, *record.departments):
        d = directory.find(name)
        allowed |= {d.head.addr if d.head else None, *(m.addr for m in d.members),
                    *(m.addr for m in d.mailbox_addresses)}
    origin = directory.find(record.originator_department) or \
        directory.department_of_address(record.originator)
    if origin is not None and origin.head is not None:
        allowed.add(origin.head.addr)
    return sender in allowed


@given(worlds(), st.sampled_from(PEOPLE + [f"box{i}@corp.example" for i in range(4)]))
def test_the_decision_agrees_with_the_plain_rule(world, sender):
    directory, record, admins = world
    decision = decide(sender, record, directory, admins)
    assert decision.allowed == _oracle(sender, directory, record, admins)
    assert (decision.role is None) != decision.allowed


@given(worlds(), st.sampled_from(PEOPLE))
def test_a_refusal_always_says_who_may_act(world, sender):
    directory, record, admins = world
    decision = decide(sender, record, directory, admins)
    names = "、".join(dict.fromkeys([record.department, *record.departments]))
    assert f"{names} 的负责人和成员" in decision.may_act
    if record.owner:
        assert decision.may_act[0].startswith("责任人")
    assert ("网关管理员" in decision.may_act) == bool(admins)


@given(worlds(), st.sampled_from(PEOPLE))
def test_an_admin_or_the_owner_is_never_refused(world, sender):
    directory, record, admins = world
    assert decide(sender, record, directory, (*admins, sender))
    as_owner = RecordPeople(sender, record.department, record.departments, record.originator,
                            record.originator_department)
    assert decide(sender, as_owner, directory).role is Role.OWNER
