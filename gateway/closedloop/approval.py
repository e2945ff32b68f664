"""审核: who must approve a message the enterprise starts, and what an approver's answer says.

The rules (rules/outbound.toml) list approval rules, first match wins, by direction, the
receivers' party kind and urgency; each names the levels (部门负责人, 分管领导, 总经理, 法务)
approving one after another. Levels are people of the directory: the sender's department
head, its 分管领导 (`deputy`), and the heads of the departments the rules name for 总经理
and 法务. Pure: no clock, no storage.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.model import Address, Direction, Urgency
from gateway.routing.directory import PARTY_KINDS, Department, Directory
from gateway.vocabulary import (
    APPROVAL_LEVEL_LABELS,
    APPROVAL_LEVEL_WORDS,
    APPROVE_WORDS,
    COLONS,
    EDIT_KEYS,
    REJECT_KEYS,
    URGENCY_WORDS,
)

OUTBOUND_FILE = "outbound.toml"
LEVELS = tuple(APPROVAL_LEVEL_LABELS)


@dataclass(frozen=True, slots=True)
class ApprovalRule:
    name: str
    levels: tuple[str, ...]  # LEVELS keys, in order; empty: nobody approves
    direction: Direction | None = None
    party_kinds: frozenset[str] | None = None  # any outside receiver of these kinds
    urgencies: frozenset[Urgency] | None = None
    id_prefix: str | None = None
    line: int = 0

    def matches(self, direction: Direction, party_kinds: Collection[str],
                urgency: Urgency) -> bool:
        return ((self.direction is None or self.direction == direction)
                and (self.party_kinds is None or bool(self.party_kinds & set(party_kinds)))
                and (self.urgencies is None or urgency in self.urgencies))


DEFAULT_RULES = (
    ApprovalRule("对外发出须部门负责人审核", ("head",), Direction.OUTBOUND),
    ApprovalRule("内部信息直接传递", (), Direction.INTERNAL),
)


@dataclass(frozen=True)
class OutboundRules:
    """rules/outbound.toml: approval rules, id prefixes per direction, the officers' departments."""

    rules: tuple[ApprovalRule, ...] = DEFAULT_RULES
    prefixes: Mapping[str, str] = field(default_factory=lambda: {
        Direction.OUTBOUND.value: "NX", Direction.INTERNAL.value: "NJ"})
    officers: Mapping[str, str] = field(default_factory=dict)  # level → department name

    def rule_for(self, direction: Direction, party_kinds: Collection[str],
                 urgency: Urgency) -> ApprovalRule:
        for rule in (*self.rules, *DEFAULT_RULES):
            if rule.matches(direction, party_kinds, urgency):
                return rule
        return DEFAULT_RULES[-1]

    def prefix_for(self, direction: Direction, rule: ApprovalRule) -> str:
        return rule.id_prefix or self.prefixes.get(direction.value, "NX")


@dataclass(frozen=True, slots=True)
class Approver:
    level: str
    address: Address

    @property
    def label(self) -> str:
        return APPROVAL_LEVEL_LABELS[self.level]


def approval_chain(
    levels: tuple[str, ...], sender: str, department: Department | None, directory: Directory,
    officers: Mapping[str, str],
) -> tuple[tuple[Approver, ...], tuple[str, ...]]:
    """The approvers, one per level, and the levels nobody could be found for.

    The sender never approves their own message: a level the sender holds is passed, as
    is a person already asked at an earlier level.
    """
    chain: list[Approver] = []
    missing: list[str] = []
    seen = {sender.lower()}
    for level in levels:
        person = _person(level, department, directory, officers)
        if person is None:
            missing.append(APPROVAL_LEVEL_LABELS[level])
        elif person.addr not in seen:
            seen.add(person.addr)
            chain.append(Approver(level, person))
    return tuple(chain), tuple(missing)


def _person(level: str, department: Department | None, directory: Directory,
            officers: Mapping[str, str]) -> Address | None:
    if level == "head":
        return department.head if department else None
    if level == "deputy":
        return getattr(department, "deputy", None) if department else None
    office = directory.find(officers.get(level))
    return office.head if office else None


def escalation_target(approver: Approver, department: Department | None, directory: Directory,
                      officers: Mapping[str, str]) -> Address | None:
    """Who hears when an approver stays silent: the next level up that is someone else."""
    order = ("head", "deputy", "general_manager")
    start = order.index(approver.level) + 1 if approver.level in order else len(order) - 1
    for level in order[start:]:
        person = _person(level, department, directory, officers)
        if person is not None and person.addr != approver.address.addr:
            return person
    return None


# --- the approver's answer --------------------------------------------------------------------

class Verdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Answer:
    verdict: Verdict
    comment: str = ""
    edited: str | None = None  # 修改为: the text that goes out instead


_KEYED = re.compile(rf"^\s*(#?[^\s{COLONS},，。!！]{{1,10}})\s*(?:[{COLONS},，。!！]\s*|\s+|$)(.*)$",
                    re.S)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def parse_answer(text: str) -> Answer | None:
    """`同意` / `批准` / `#approve`, `驳回: 原因` / `#reject 原因`, `修改为:` + text; else None.

    Read from the first non-blank line of the answer's new text (quoting already removed).
    """
    stripped = text.strip()
    if not stripped:
        return None
    first, _, rest = stripped.partition("\n")
    word = _norm(first).rstrip("。.!！")
    if word in APPROVE_WORDS:
        return Answer(Verdict.APPROVE, rest.strip())
    match = _KEYED.match(first)
    if match is None:
        return None
    key, tail = _norm(match.group(1)), match.group(2).strip()
    if key in REJECT_KEYS:
        return Answer(Verdict.REJECT, "\n".join(p for p in (tail, rest.strip()) if p))
    if key in EDIT_KEYS:
        edited = "\n".join(p for p in (tail, rest.strip("\n")) if p).strip()
        return Answer(Verdict.APPROVE, "修改后同意", edited) if edited else None
    if key in APPROVE_WORDS:
        return Answer(Verdict.APPROVE, "\n".join(p for p in (tail, rest.strip()) if p))
    return None


# --- reading rules/outbound.toml --------------------------------------------------------------

def read_outbound_rules(data: Mapping[str, Any], line_of) -> tuple[OutboundRules, list[tuple]]:
    """TOML data → OutboundRules and problems as (line, message); `line_of(table, i, key)`."""
    problems: list[tuple] = []
    rules = []
    for i, table in enumerate(data.get("approval", [])):
        rule, found = _rule(table, i, line_of)
        problems += found
        if rule is not None:
            rules.append(rule)
    prefixes = {Direction.OUTBOUND.value: "NX", Direction.INTERNAL.value: "NJ"}
    for key, value in dict(data.get("id_prefix", {})).items():
        if key not in prefixes or not re.fullmatch(r"[A-Z]{1,6}", str(value)):
            problems.append((line_of("id_prefix", None, key),
                             f"[id_prefix]: {key} = {value!r}: outbound/internal = 1–6 capitals"))
        else:
            prefixes[key] = str(value)
    officers = {}
    for key, value in dict(data.get("officers", {})).items():
        level = APPROVAL_LEVEL_WORDS.get(_norm(key))
        if level not in ("general_manager", "legal", "deputy"):
            problems.append((line_of("officers", None, key), f"[officers]: unknown level '{key}'"))
        else:
            officers[level] = str(value)
    return OutboundRules(tuple(rules), prefixes, officers), problems


def _rule(table: Mapping[str, Any], i: int, line_of) -> tuple[ApprovalRule | None, list[tuple]]:
    problems: list[tuple] = []
    name = str(table.get("name", f"#{i + 1}"))
    label = f"approval '{name}'"

    def bad(key: str, message: str) -> None:
        problems.append((line_of("approval", i, key), f"{label}: {key}: {message}"))

    known = {"name", "description", "direction", "party_kind", "urgency", "levels", "id_prefix"}
    for key in table:
        if key not in known:
            bad(key, f"unknown key; known keys: {', '.join(sorted(known))}")
    levels = []
    for word in table.get("levels", []):
        level = APPROVAL_LEVEL_WORDS.get(_norm(str(word)))
        if level is None:
            bad("levels", f"unknown level '{word}' (部门负责人, 分管领导, 总经理, 法务)")
        else:
            levels.append(level)
    direction = None
    if "direction" in table:
        try:
            direction = Direction(str(table["direction"]))
        except ValueError:
            bad("direction", "must be outbound or internal")
    kinds = None
    if "party_kind" in table:
        kinds = frozenset(str(k) for k in table["party_kind"])
        if not kinds <= set(PARTY_KINDS):
            bad("party_kind", f"one of {', '.join(PARTY_KINDS)}")
    urgencies = None
    if "urgency" in table:
        urgencies = frozenset(URGENCY_WORDS.get(_norm(str(u))) or Urgency.NORMAL
                              for u in table["urgency"])
    prefix = table.get("id_prefix")
    if prefix is not None and not re.fullmatch(r"[A-Z]{1,6}", str(prefix)):
        bad("id_prefix", "1–6 capitals")
    if problems:
        return None, problems
    return ApprovalRule(name, tuple(levels), direction, kinds, urgencies,
                        str(prefix) if prefix else None, line_of("approval", i, None) or 0), []
