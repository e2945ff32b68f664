"""Match conditions: each a small named check of one fact about a mail, with its reason."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.model import InboundMail, SubjectTag, Urgency
from gateway.routing.directory import Department, Party, in_domains, listed


@dataclass(frozen=True, slots=True)
class Facts:
    """What route() knows about a mail before any rule looks at it."""

    mail: InboundMail
    tag: SubjectTag
    tagged: Department | None  # the subject's department, when the directory knows it
    party: Party | None
    internal: bool


Check = Callable[[Facts, Any], tuple[bool, str]]


@dataclass(frozen=True, slots=True)
class Condition:
    name: str
    kind: str  # how load.py reads the value: words, regex, bool, urgencies, departments, …
    check: Check


CONDITIONS: dict[str, Condition] = {}


def condition(name: str, kind: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        CONDITIONS[name] = Condition(name, kind, check)
        return check
    return register


@condition("urgency", "urgencies")
def _urgency(facts: Facts, wanted: frozenset[Urgency]) -> tuple[bool, str]:
    got = facts.tag.urgency
    if got in wanted:
        return True, f"urgency is {got.value} ({got.label})"
    return False, f"urgency is {got.value}, not {listed(sorted(u.value for u in wanted))}"


@condition("department_tag", "departments")
def _department_tag(facts: Facts, wanted: tuple[Department, ...]) -> tuple[bool, str]:
    if facts.tagged is None:
        return False, "subject names no known department"
    names = listed(d.name for d in wanted)
    if facts.tagged in wanted:
        return True, f"subject names {facts.tagged.name}"
    return False, f"subject names {facts.tagged.name}, not {names}"


@condition("department_tagged", "bool")
def _department_tagged(facts: Facts, wanted: bool) -> tuple[bool, str]:
    says = f"subject names {facts.tagged.name}" if facts.tagged else "subject names no department"
    return (facts.tagged is not None) == wanted, says


@condition("sender", "globs")
def _sender(facts: Facts, globs: tuple[str, ...]) -> tuple[bool, str]:
    addr = facts.mail.from_addr.addr
    hit = next((g for g in globs if fnmatch.fnmatchcase(addr, g)), None)
    if hit:
        return True, f"sender {addr} matches {hit}"
    return False, f"sender {addr or '(none)'} matches none of {listed(globs)}"


@condition("sender_domain", "domains")
def _sender_domain(facts: Facts, domains: tuple[str, ...]) -> tuple[bool, str]:
    domain = facts.mail.from_addr.domain
    if domain and in_domains(domain, domains):
        return True, f"sender domain {domain} is in {listed(domains)}"
    return False, f"sender domain {domain or '(none)'} is not in {listed(domains)}"


@condition("party_kind", "party_kinds")
def _party_kind(facts: Facts, kinds: frozenset[str]) -> tuple[bool, str]:
    party = facts.party
    if party is None:
        return False, "sender's domain is no known party"
    said = f"sender is {party.organisation} ({party.kind})"
    return party.kind in kinds, said if party.kind in kinds else f"{said}, not {listed(kinds)}"


@condition("internal", "bool")
def _internal(facts: Facts, wanted: bool) -> tuple[bool, str]:
    return facts.internal == wanted, "sender is " + ("internal" if facts.internal else "external")


def _recipient_matches(got: str, wanted: str) -> bool:
    """gateway@x matches gateway+anything@x too; gateway+quality@x matches only itself."""
    if got == wanted:
        return True
    local, _, domain = got.partition("@")
    base = local.partition("+")[0]
    return "+" not in wanted and f"{base}@{domain}" == wanted


@condition("recipient", "addresses")
def _recipient(facts: Facts, wanted: tuple[str, ...]) -> tuple[bool, str]:
    got = [a.addr for a in facts.mail.recipients] + list(facts.mail.delivered_to)
    for addr in got:
        hit = next((w for w in wanted if _recipient_matches(addr, w)), None)
        if hit:
            return True, f"recipient {addr} matches {hit}"
    return False, f"no recipient matches {listed(wanted)}"


def _keywords(where: str, text: str, words: tuple[str, ...]) -> tuple[bool, str]:
    folded = text.casefold()
    hit = next((w for w in words if w.casefold() in folded), None)
    if hit:
        return True, f"{where} contains {hit}"
    return False, f"none of {listed(words)} in {where}"


@condition("subject_keywords", "words")
def _subject_keywords(facts: Facts, words: tuple[str, ...]) -> tuple[bool, str]:
    return _keywords("subject", facts.mail.subject, words)


@condition("body_keywords", "words")
def _body_keywords(facts: Facts, words: tuple[str, ...]) -> tuple[bool, str]:
    return _keywords("body", facts.mail.text, words)


def _regex(where: str, text: str, pattern: re.Pattern[str]) -> tuple[bool, str]:
    found = pattern.search(text)
    if found:
        return True, f"{where} matches /{pattern.pattern}/ at {found.group(0)!r}"
    return False, f"{where} does not match /{pattern.pattern}/"


@condition("subject_regex", "regex")
def _subject_regex(facts: Facts, pattern: re.Pattern[str]) -> tuple[bool, str]:
    return _regex("subject", facts.mail.subject, pattern)


@condition("body_regex", "regex")
def _body_regex(facts: Facts, pattern: re.Pattern[str]) -> tuple[bool, str]:
    return _regex("body", facts.mail.text, pattern)


@condition("has_attachments", "bool")
def _has_attachments(facts: Facts, wanted: bool) -> tuple[bool, str]:
    n = len(facts.mail.attachments)
    return (n > 0) == wanted, f"mail has {n} attachment(s)"


