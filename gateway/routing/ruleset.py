"""The rule set: ordered rules with their conditions and actions, and the [default] desk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.closedloop.approval import OutboundRules
from gateway.model import Address
from gateway.routing.conditions import Condition, Facts
from gateway.routing.directory import Department, Directory, Parties

RULE_FILE = "routing.toml"

# 问题类型: short everyday forms, plus the words of the seed 002 feedback form.
PROBLEM_TYPES = (
    "咨询", "投诉", "故障", "建议", "需求", "其他",
    "协作需求", "流程卡点", "资源申请", "故障投诉",
)


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One thing wrong in a rule file, at a line when the file has one to point at."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Actions:
    """What a matching rule decides; None leaves the choice to a later step."""

    department: Department | None = None
    owner: Address | None = None
    cc: tuple[Address, ...] = ()
    cc_head: bool = False
    id_prefix: str | None = None
    ack_template: str | None = None
    notify_template: str | None = None
    problem_type: str | None = None
    deadlines: Mapping[str, Mapping[str, str]] | None = None  # like config's [deadlines]
    archive_class: str | None = None  # ordinary | important | classified
    # department wins even over a department the subject names and the directory knows
    override_tag: bool = False


@dataclass(frozen=True, slots=True)
class Test:
    """One condition as a rule wrote it."""

    condition: Condition
    value: Any
    line: int


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    description: str
    line: int
    tests: tuple[Test, ...]
    actions: Actions
    proceed: bool = False  # TOML `continue = true`: add this rule's actions, then go on

    def check(self, facts: Facts) -> tuple[bool, str]:
        """Whether every condition holds; the reasons why, or the first that failed."""
        passed = []
        for test in self.tests:
            ok, why = test.condition.check(facts, test.value)
            if not ok:
                return False, f"{test.condition.name}: {why}"
            passed.append(f"{test.condition.name}: {why}")
        return True, "; ".join(passed) or "it has no conditions"


@dataclass(frozen=True, slots=True)
class Default:
    """routing.toml [default]: what applies when neither a rule nor the subject says."""

    department: Department
    id_prefix: str
    problem_type: str
    ack_template: str
    notify_template: str
    line: int


@dataclass(frozen=True)
class RuleSet:
    directory: Directory
    parties: Parties
    rules: tuple[Rule, ...]
    default: Default
    versions: dict[str, str]  # file name → short sha256 of its bytes
    source: Path | None = None
    outbound: OutboundRules = OutboundRules()  # outbound.toml: approval, id prefixes, officers

    @property
    def version(self) -> str:
        return self.versions.get(RULE_FILE, "")
