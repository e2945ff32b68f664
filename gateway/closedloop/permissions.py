"""Who may change a record by mail: the owner, the departments on it, the originator's head, admins.

A pure decision over the directory and the record's people; the caller refuses, logs and
passes the text on. Outside parties never get this far (trust.py decides staff or not).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from gateway.routing.directory import Department, Directory


class Role(StrEnum):
    """Why someone may act on a record; the values are logged."""

    OWNER = "owner"
    ADMIN = "admin"
    RECEIVING_HEAD = "receiving_head"
    RECEIVING_MEMBER = "receiving_member"
    INVOLVED_HEAD = "involved_head"
    INVOLVED_MEMBER = "involved_member"
    ORIGINATOR_HEAD = "originator_head"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.OWNER: "责任人",
    Role.ADMIN: "网关管理员",
    Role.RECEIVING_HEAD: "接收部门负责人",
    Role.RECEIVING_MEMBER: "接收部门成员",
    Role.INVOLVED_HEAD: "涉及部门负责人",
    Role.INVOLVED_MEMBER: "涉及部门成员",
    Role.ORIGINATOR_HEAD: "发起部门负责人",
}


@dataclass(frozen=True, slots=True)
class RecordPeople:
    """What the decision reads of a record: plain values, no database row."""

    owner: str | None  # the owner's address
    department: str  # 接收部门
    departments: tuple[str, ...]  # 涉及部门 (the receiving one included or not)
    originator: str  # the originator's address ("" once purged)
    originator_department: str | None  # 发起部门 as the record names it, if internal


@dataclass(frozen=True, slots=True)
class Permission:
    allowed: bool
    role: Role | None  # why allowed; None when refused
    reason: str  # one line for the log
    may_act: tuple[str, ...]  # who may act on this record, for the refusal

    def __bool__(self) -> bool:
        return self.allowed


def decide(sender: str, record: RecordPeople, directory: Directory,
           admins: Collection[str] = ()) -> Permission:
    """Whether `sender` (an internal address) may run commands on the record, and why."""
    addr = sender.strip().lower()
    may_act = who_may_act(record, directory, admins)
    role = _role(addr, record, directory, {a.lower() for a in admins}) if addr else None
    if role is None:
        return Permission(False, None, f"{sender or '(无地址)'} 不是本记录的责任人、"
                          "接收或涉及部门人员、发起部门负责人或管理员", may_act)
    return Permission(True, role, f"{addr} 是{role.label}", may_act)


def _role(addr: str, record: RecordPeople, directory: Directory,
          admins: set[str]) -> Role | None:
    if record.owner and addr == record.owner.lower():
        return Role.OWNER
    receiving = directory.find(record.department)
    if receiving is not None:
        if _is_head(addr, receiving):
            return Role.RECEIVING_HEAD
        if _is_member(addr, receiving):
            return Role.RECEIVING_MEMBER
    for dept in _involved(record, directory):
        if _is_head(addr, dept):
            return Role.INVOLVED_HEAD
        if _is_member(addr, dept):
            return Role.INVOLVED_MEMBER
    origin = originator_department(record, directory)
    if origin is not None and _is_head(addr, origin):
        return Role.ORIGINATOR_HEAD
    if addr in admins:
        return Role.ADMIN
    return None


def who_may_act(record: RecordPeople, directory: Directory,
                admins: Collection[str] = ()) -> tuple[str, ...]:
    """Lines naming who may act, for the refusal: 责任人 王维修 <…>, 生产部 的负责人和成员, …"""
    lines = []
    if record.owner:
        lines.append(f"责任人 {_person(record.owner, directory)}")
    names = list(dict.fromkeys([record.department, *record.departments]))
    lines.append("、".join(names) + " 的负责人和成员")
    origin = originator_department(record, directory)
    if origin is not None and origin.head is not None and origin.name not in names:
        lines.append(f"发起部门 {origin.name} 的负责人 {origin.head}")
    if admins:
        lines.append("网关管理员")
    return tuple(lines)


def originator_department(record: RecordPeople, directory: Directory) -> Department | None:
    """The originator's department: the one the record names, else the one listing the address."""
    named = directory.find(record.originator_department)
    if named is not None:
        return named
    return directory.department_of_address(record.originator) if record.originator else None


def _involved(record: RecordPeople, directory: Directory) -> Iterable[Department]:
    for name in record.departments:
        dept = directory.find(name)
        if dept is not None:
            yield dept


def _is_head(addr: str, dept: Department) -> bool:
    return dept.head is not None and dept.head.addr == addr


def _is_member(addr: str, dept: Department) -> bool:
    # A department mailbox speaks for the department as its members do.
    return addr in {a.addr for a in (*dept.members, *dept.mailbox_addresses)}


def _person(addr: str, directory: Directory) -> str:
    for dept in directory.departments:
        for person in (*dept.members, *((dept.head,) if dept.head else ())):
            if person.addr == addr.lower() and person.name:
                return f"{person.name} <{person.addr}>"
    return addr
