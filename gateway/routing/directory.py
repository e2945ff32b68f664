"""The department directory and the outside parties: who is who, found by name, alias or address."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.model import Address
from gateway.routing.department_words import stem

PARTY_KINDS = ("customer", "supplier", "regulator", "partner")

# Public mail services: a domain shared by strangers, which names no organisation of its own.
FREE_MAIL_DOMAINS = frozenset({
    "qq.com", "foxmail.com", "vip.qq.com", "163.com", "126.com", "yeah.net", "vip.163.com",
    "sina.com", "sina.cn", "sohu.com", "139.com", "189.cn", "wo.cn", "aliyun.com",
    "gmail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
    "icloud.com", "me.com", "proton.me", "protonmail.com",
})


def domain_and_parents(domain: str) -> Iterable[str]:
    """a.b.example → a.b.example, b.example, example: a subdomain belongs to its parent."""
    labels = domain.lower().strip(".").split(".")
    return (".".join(labels[i:]) for i in range(len(labels)))


def in_domains(domain: str, domains: Collection[str]) -> bool:
    wanted = {d.lower() for d in domains}
    return any(d in wanted for d in domain_and_parents(domain))


def listed(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


@dataclass(frozen=True, slots=True)
class Department:
    name: str
    aliases: tuple[str, ...]
    mailbox_addresses: tuple[Address, ...]
    head: Address | None
    members: tuple[Address, ...]
    id_prefix: str
    deputy: Address | None = None  # 分管领导: approves outside messages after the head, by rule

    @property
    def addresses(self) -> frozenset[str]:
        """Every address that speaks for the department: mailboxes, head, members."""
        people = (*self.mailbox_addresses, *self.members, *((self.head,) if self.head else ()))
        return frozenset(a.addr for a in people)


@dataclass(frozen=True, slots=True)
class Person:
    """What the directory knows of one person beyond the address: how to reach them by chat."""

    addr: str
    mobile: str | None = None  # WeCom and DingTalk robots @-mention by mobile
    feishu_id: str | None = None  # Feishu bots @-mention by open_id or user_id only


@dataclass(frozen=True, slots=True)
class Party:
    domain: str
    organisation: str
    kind: str

    def as_dict(self) -> dict[str, str]:
        return {"domain": self.domain, "organisation": self.organisation, "kind": self.kind}


@dataclass(frozen=True)
class Directory:
    """The departments, found by name or alias (case-insensitive) or by any of their addresses."""

    departments: tuple[Department, ...]
    people: tuple[Person, ...] = ()  # [[person]] tables: mobiles and chat ids
    _by_name: dict[str, Department] = field(init=False, repr=False, compare=False)
    _by_addr: dict[str, Department] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {}
        by_addr: dict[str, Department] = {}
        for dept in self.departments:
            for word in (dept.name, *dept.aliases):
                by_name.setdefault(word.casefold(), dept)
            for addr in dept.addresses:
                by_addr.setdefault(addr, dept)  # the first department listing an address owns it
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_by_addr", by_addr)

    @functools.cached_property
    def _by_stem(self) -> dict[str, Department]:
        # Built at the first fuzzy look-up: loading rules (the outbox sender does, and never
        # routes) does not pay for the Traditional → Simplified table.
        stems: dict[str, set[str]] = {}
        for dept in self.departments:
            for word in (dept.name, *dept.aliases):
                stems.setdefault(stem(word), set()).add(dept.name)
        names = {d.name: d for d in self.departments}
        # A stem two departments share names neither: the word must then be written exactly.
        return {s: names[next(iter(d))] for s, d in stems.items() if len(d) == 1 and s}

    @property
    def names(self) -> frozenset[str]:
        return frozenset(w for d in self.departments for w in (d.name, *d.aliases))

    def find(self, name_or_alias: str | None) -> Department | None:
        """A name or alias exactly as listed (any case): what rule files must write."""
        return self._by_name.get(name_or_alias.strip().casefold()) if name_or_alias else None

    def match(self, word: str | None) -> Department | None:
        """A department word as people write it: exact, else up to generic suffixes and
        Traditional forms (客服部 → 客服中心, 財務處 → 财务部, 行政部门 → 行政部)."""
        if not word or not word.strip():
            return None
        return self.find(word) or self._by_stem.get(stem(word))

    @property
    def words(self) -> DepartmentWords:
        """The words a subject may name a department by, for mail/subject.py."""
        return DepartmentWords(self)

    def department_of_address(self, addr: str) -> Department | None:
        return self._by_addr.get(addr.lower())

    def is_member(self, addr: str) -> bool:
        return addr.lower() in self._by_addr

    def person(self, addr: str | None) -> Person | None:
        wanted = (addr or "").lower()
        return next((p for p in self.people if p.addr == wanted), None) if wanted else None


class DepartmentWords(Collection[str]):
    """Names and aliases; `in` also holds for the forms Directory.match understands."""

    def __init__(self, directory: Directory):
        self._directory = directory
        self._names = directory.names

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._directory.match(word) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass(frozen=True)
class Parties:
    """Outside organisations by mail domain; a subdomain belongs to the party of its parent."""

    parties: tuple[Party, ...]
    _by_domain: dict[str, Party] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_domain", {p.domain.lower(): p for p in self.parties})

    def party_for(self, domain: str) -> Party | None:
        for candidate in domain_and_parents(domain) if domain else ():
            if candidate in self._by_domain:
                return self._by_domain[candidate]
        return None


def department_of_sender(directory: Directory, addr: str | None) -> Department | None:
    """The department a staff address speaks for: listed as its member, head or mailbox."""
    return directory.department_of_address(addr) if addr else None


def organisation_of(addr: str | None, parties: Parties) -> str | None:
    """An outside sender's organisation: its party's name (parties.toml), else its mail domain."""
    domain = (addr or "").rpartition("@")[2].lower()
    if not domain:
        return None
    party = parties.party_for(domain)
    return party.organisation if party else domain


def same_organisation(a: str | None, b: str | None, parties: Parties) -> str | None:
    """The organisation two outside addresses share, or None; a free-mail domain is no one's."""
    org_a, org_b = organisation_of(a, parties), organisation_of(b, parties)
    if not org_a or org_a != org_b or org_a in FREE_MAIL_DOMAINS:
        return None
    return org_a
