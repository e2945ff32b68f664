"""route(): run the rules over one mail and decide, with every rule's fate as the reason."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.model import Address, InboundMail, SubjectTag
from gateway.routing.conditions import Facts
from gateway.routing.directory import (
    Department,
    Party,
    department_of_sender,
    in_domains,
    listed,
    organisation_of,
)
from gateway.routing.ruleset import RULE_FILE, Rule, RuleSet

# Names of the built-in steps that choose a department when no rule named one.
FROM_TAG = "subject-department"
FROM_DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """How one rule fared against one mail."""

    rule: str
    line: int
    matched: bool
    reason: str
    evaluated: bool = True
    continues: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "line": self.line, "matched": self.matched,
                "evaluated": self.evaluated, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Decision:
    department: Department
    owner: Address | None
    cc: tuple[Address, ...]
    id_prefix: str
    ack_template: str
    notify_template: str
    problem_type: str
    party: Party | None
    internal: bool
    rule_name: str
    rule_file: str
    rule_version: str
    trace: tuple[RuleOutcome, ...]
    department_reason: str = ""
    deadlines: Mapping[str, Mapping[str, str]] | None = None  # the rule's overrides, if any
    archive_class: str | None = None
    # A department word of the subject the directory does not know, kept for the record.
    requested_department: str | None = None
    # 发起部门: the sender's department (staff) or organisation (outside parties)
    from_department: str | None = None

    def explain(self) -> list[str]:
        """The lines a person reads: each rule's fate, then what was decided and why."""
        lines = []
        for o in self.trace:
            where = f"rule '{o.rule}' ({self.rule_file}:{o.line})"
            if o.matched:
                more = "; continues to the next rule" if o.continues else ""
                lines.append(f"matched: {where} because {o.reason}{more}")
            elif o.evaluated:
                lines.append(f"skipped: {where}: {o.reason}")
            else:
                lines.append(f"not reached: {where}: {o.reason}")
        cc = listed(self.cc) or "-"
        lines.append(
            f"department: {self.department.name} ({self.department_reason}), "
            f"owner: {self.owner or '-'}, cc: {cc}, id prefix {self.id_prefix}, "
            f"problem type {self.problem_type}"
        )
        party = f", {self.party.organisation} ({self.party.kind})" if self.party else ""
        lines.append(f"sender: {'internal' if self.internal else 'external'}{party}, "
                     f"发起部门 {self.from_department or '-'}")
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "department": self.department.name,
            "department_reason": self.department_reason,
            "owner": str(self.owner) if self.owner else None,
            "cc": [str(a) for a in self.cc],
            "id_prefix": self.id_prefix,
            "ack_template": self.ack_template,
            "notify_template": self.notify_template,
            "problem_type": self.problem_type,
            "party": self.party.as_dict() if self.party else None,
            "internal": self.internal,
            "rule": self.rule_name,
            "rule_file": self.rule_file,
            "rule_version": self.rule_version,
            "trace": [o.as_dict() for o in self.trace],
            "archive_class": self.archive_class,
            "requested_department": self.requested_department,
            "from_department": self.from_department,
        }


def is_internal(addr: str, rules: RuleSet, internal_domains: Collection[str]) -> bool:
    domain = addr.rpartition("@")[2]
    return (bool(domain) and in_domains(domain, internal_domains)) or rules.directory.is_member(addr)


def route(
    mail: InboundMail, tag: SubjectTag, rules: RuleSet, *, internal_domains: Collection[str]
) -> Decision:
    """Run the rules in order; the first match without `continue` ends the run."""
    sender = mail.from_addr.addr
    facts = Facts(
        mail=mail,
        tag=tag,
        tagged=rules.directory.match(tag.department),
        party=rules.parties.party_for(mail.from_addr.domain),
        internal=is_internal(sender, rules, internal_domains) if sender else False,
    )
    trace: list[RuleOutcome] = []
    matched: list[Rule] = []
    decider: Rule | None = None
    for rule in rules.rules:
        if decider is not None:
            trace.append(RuleOutcome(rule.name, rule.line, False,
                                     f"rule '{decider.name}' matched first", evaluated=False))
            continue
        ok, why = rule.check(facts)
        trace.append(RuleOutcome(rule.name, rule.line, ok, why, continues=ok and rule.proceed))
        if ok:
            matched.append(rule)
            decider = None if rule.proceed else rule
    return _decide(facts, rules, matched, decider, tuple(trace))


def _first(matched: list[Rule], action: str) -> Any:
    """An action from the earliest matching rule that sets it."""
    return next((getattr(r.actions, action) for r in matched
                 if getattr(r.actions, action) is not None), None)


def _department(
    facts: Facts, rules: RuleSet, matched: list[Rule], decider: Rule | None
) -> tuple[Department, str, str]:
    """The department, the step that chose it, and why: a department the subject names and
    the directory knows is the sender's decision, which a rule overrides only with
    `override_tag = true`; then a rule's department; then the [default] desk."""
    by_rule = next((r for r in matched if r.actions.department is not None), None)
    tagged = facts.tagged
    if by_rule is not None and (tagged is None or by_rule.actions.override_tag
                                or by_rule.actions.department == tagged):
        reason = f"named by rule '{by_rule.name}'"
        if tagged is not None and by_rule.actions.department != tagged:
            reason += f" over the subject's {tagged.name} (override_tag = true)"
        return by_rule.actions.department, by_rule.name, reason
    if tagged is not None:
        said = _said(facts)
        if by_rule is not None:
            return tagged, decider.name if decider else FROM_TAG, (
                f"{said}; rule '{by_rule.name}' names {by_rule.actions.department.name} but "
                "does not override the subject's department (no override_tag)")
        unnamed = f"rule '{decider.name}' names none, " if decider else "no rule names one, "
        return tagged, decider.name if decider else FROM_TAG, unnamed + said
    unnamed = f"rule '{decider.name}' names none, " if decider else "no rule names one, "
    said = (f"subject names {facts.tag.department}, not in the directory"
            if facts.tag.department else "subject names none")
    return (rules.default.department, decider.name if decider else FROM_DEFAULT,
            f"{unnamed}{said}; the [default] department")


def _said(facts: Facts) -> str:
    word, dept = facts.tag.department, facts.tagged
    if dept is None:
        return "subject names none"
    if word and word.casefold() != dept.name.casefold():
        return f"subject says so ({word} is {dept.name} in the directory)"
    return "subject says so"


def _decide(
    facts: Facts, rules: RuleSet, matched: list[Rule], decider: Rule | None,
    trace: tuple[RuleOutcome, ...],
) -> Decision:
    department, rule_name, reason = _department(facts, rules, matched, decider)
    # A rule whose department lost to the subject's names no owner there.
    ours = [r for r in matched if r.actions.department in (None, department)]
    owner = _first(ours, "owner") or department.head
    wanted = [a for r in matched for a in r.actions.cc]
    if department.head and any(r.actions.cc_head for r in matched):
        wanted.append(department.head)
    # The notice already goes to the mailboxes and the owner; a copy to them again is noise.
    skip = {a.addr for a in department.mailbox_addresses} | ({owner.addr} if owner else set())
    cc: list[Address] = []
    for addr in wanted:
        if addr.addr not in skip:
            skip.add(addr.addr)
            cc.append(addr)
    default = rules.default
    return Decision(
        department=department,
        owner=owner,
        cc=tuple(cc),
        id_prefix=_first(matched, "id_prefix") or department.id_prefix or default.id_prefix,
        ack_template=_first(matched, "ack_template") or default.ack_template,
        notify_template=_first(matched, "notify_template") or default.notify_template,
        problem_type=_first(matched, "problem_type") or default.problem_type,
        party=facts.party,
        internal=facts.internal,
        rule_name=rule_name,
        rule_file=RULE_FILE,
        rule_version=rules.version,
        trace=trace,
        department_reason=reason,
        deadlines=_first(matched, "deadlines"),
        archive_class=_first(matched, "archive_class"),
        requested_department=facts.tag.department if facts.tagged is None else None,
        from_department=_from_department(facts, rules),
    )


def _from_department(facts: Facts, rules: RuleSet) -> str | None:
    """Who the sender is, never what the subject names (the tag names the receiver)."""
    sender = facts.mail.from_addr.addr
    if facts.internal:
        dept = department_of_sender(rules.directory, sender)
        return dept.name if dept else None
    return organisation_of(sender, rules.parties)
