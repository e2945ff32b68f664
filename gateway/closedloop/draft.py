"""A message the enterprise starts (发起): the header lines atop a staff mail, and its receivers.

A staff mail to the gateway whose first lines name receivers (`收件人:` / `To:`) is a draft:
those lines set the receivers and options, the rest of the body is the message. Pure: the
caller resolves the reply-by time on its calendar.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gateway.deadlines.duration import Duration, parse_duration
from gateway.model import Address, Direction
from gateway.routing.directory import Directory, Parties, in_domains
from gateway.vocabulary import COLONS, DRAFT_KEYS, LIST_SEPARATORS, NO_WORDS, YES_WORDS

_LINE = re.compile(rf"^\s*([^{COLONS}\n]{{1,24}}?)\s*[{COLONS}]\s*(.*?)\s*$")
_ADDRESS = re.compile(r"^(?:(?P<name>.*?)\s*<\s*(?P<angle>[^<>\s]+@[^<>\s]+)\s*>|(?P<bare>[^\s<>]+@[^\s<>]+))$")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d",
                     "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M", "%Y年%m月%d日")
_DATE_START = re.compile(r"\d{4}\s*[-/年]")
MAX_HEADER_LINES = 8


@dataclass(frozen=True, slots=True)
class Draft:
    """What the header lines say, the message below them, and what was wrong in them."""

    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    reply_by: Duration | datetime | None = None  # a span, or a naive local wall time
    reply_needed: bool = True
    receipt: bool = False
    body: str = ""
    problems: tuple[str, ...] = ()


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def split_items(value: str) -> tuple[str, ...]:
    """`a <x@y>, 生产部、全体员工` → items, splitting only outside <…> and "…"."""
    items, current, depth, quoted = [], [], 0, False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            depth += 1
        elif char == ">" and not quoted:
            depth = max(0, depth - 1)
        if depth == 0 and not quoted and char in LIST_SEPARATORS:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    return tuple(i for i in items if i)


def parse_reply_by(value: str) -> Duration | datetime:
    """`3个工作日`, `4小时`, `2026-12-01 17:00` → a span, or a naive local wall time."""
    text = unicodedata.normalize("NFKC", value).strip()
    # strptime is slow and most answers are spans: try the formats only on a written date.
    for fmt in _DATETIME_FORMATS if _DATE_START.match(text) else ():
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return moment if "%H" in fmt else moment.replace(hour=18)
    return parse_duration(text)


def _yes_no(value: str) -> bool | None:
    word = _norm(value)
    return True if word in YES_WORDS else False if word in NO_WORDS else None


def parse_draft(text: str) -> Draft | None:
    """The draft at the top of `text`, or None when it has no `收件人:` / `To:` line there."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    fields: dict[str, str] = {}
    problems: list[str] = []
    end = start
    for index in range(start, min(len(lines), start + MAX_HEADER_LINES)):
        match = _LINE.match(lines[index])
        key = DRAFT_KEYS.get(_norm(match.group(1))) if match else None
        if key is None:
            break
        if key in fields:
            problems.append(f"「{lines[index].strip()}」: 重复的「{match.group(1)}」")
        fields[key] = match.group(2)
        end = index + 1
    if "to" not in fields:
        return None
    body = "\n".join(lines[end:]).strip("\n")
    return _draft(fields, body, problems)


def _draft(fields: Mapping[str, str], body: str, problems: list[str]) -> Draft:
    values: dict[str, object] = {}
    for key in ("reply_needed", "receipt"):
        if key in fields:
            flag = _yes_no(fields[key])
            if flag is None:
                problems.append(f"「{fields[key]}」: 请写「是」或「否」")
            else:
                values[key] = flag
    if fields.get("reply_by"):
        try:
            values["reply_by"] = parse_reply_by(fields["reply_by"])
        except ValueError:
            problems.append(f"期望反馈「{fields['reply_by']}」: 无法识别, 请写如「3个工作日」"
                            "「4小时」或「2026-12-01 17:00」")
    to = split_items(fields["to"])
    if not to:
        problems.append("收件人为空")
    if not body.strip():
        problems.append("正文为空: 收件人等行之后请写要发送的内容")
    return Draft(to=to, cc=split_items(fields.get("cc", "")), body=body,
                 problems=tuple(problems), **values)  # type: ignore[arg-type]


# --- receivers --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Receiver:
    """One item of 收件人/抄送, resolved: who gets the mail and how the register names them."""

    written: str
    kind: str  # outside | department | group | staff
    label: str  # 接收部门/单位: the organisation, department or group; the person for staff
    addresses: tuple[Address, ...]
    party_kind: str | None = None  # customer | supplier | regulator | partner, for outside


@dataclass(frozen=True, slots=True)
class Receivers:
    to: tuple[Receiver, ...]
    cc: tuple[Receiver, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def all(self) -> tuple[Receiver, ...]:
        return self.to + self.cc

    @property
    def direction(self) -> Direction:
        """Outbound when any receiver is outside the enterprise, internal otherwise."""
        return Direction.OUTBOUND if any(r.kind == "outside" for r in self.all) else (
            Direction.INTERNAL)

    @property
    def party_kinds(self) -> frozenset[str]:
        return frozenset(r.party_kind or "other" for r in self.all if r.kind == "outside")

    @property
    def labels(self) -> tuple[str, ...]:
        """接收部门/单位, each once, in the order written (To first)."""
        return tuple(dict.fromkeys(r.label for r in self.to or self.cc))


def resolve_receivers(
    draft: Draft, directory: Directory, parties: Parties, groups: Mapping[str, Address],
    internal_domains: Collection[str],
) -> Receivers:
    """Each written item → its addresses: an address, a department (its mailboxes) or a group."""
    problems: list[str] = []
    by_group = {_norm(name): (name, addr) for name, addr in groups.items()}

    def one(item: str) -> Receiver | None:
        group = by_group.get(_norm(item))
        if group is not None:
            return Receiver(item, "group", group[0], (group[1],))
        dept = directory.find(item)
        if dept is not None:
            targets = dept.mailbox_addresses or ((dept.head,) if dept.head else ())
            if not targets:
                problems.append(f"「{item}」: {dept.name} 没有登记邮箱或负责人")
                return None
            return Receiver(item, "department", dept.name, tuple(targets))
        match = _ADDRESS.match(item.strip())
        if match is None:
            problems.append(f"「{item}」: 不是邮件地址, 也不是已登记的部门或群组")
            return None
        addr = (match.group("angle") or match.group("bare")).lower()
        address = Address((match.group("name") or "").strip().strip('"'), addr)
        dept = directory.department_of_address(addr)
        if dept is not None or in_domains(address.domain, internal_domains):
            return Receiver(item, "staff", dept.name if dept else (address.name or addr),
                            (address,))
        party = parties.party_for(address.domain)
        return Receiver(item, "outside", party.organisation if party else (
            address.name or address.domain), (address,), party.kind if party else None)

    to = tuple(r for item in draft.to if (r := one(item)) is not None)
    cc = tuple(r for item in draft.cc if (r := one(item)) is not None)
    return Receivers(to, cc, tuple(problems))
