"""Reading the rule files: TOML → a validated RuleSet, every problem pointed at file:line."""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.closedloop.approval import OUTBOUND_FILE, OutboundRules, read_outbound_rules
from gateway.errors import RuleError
from gateway.model import Address
from gateway.routing import values as rv
from gateway.routing.conditions import CONDITIONS
from gateway.routing.directory import (
    PARTY_KINDS,
    Department,
    Directory,
    Parties,
    Party,
    Person,
)
from gateway.routing.ruleset import (
    PROBLEM_TYPES,
    RULE_FILE,
    Actions,
    Default,
    Rule,
    RuleProblem,
    RuleSet,
    Test,
)
from gateway.vocabulary import ARCHIVE_CLASS_WORDS

DEPARTMENTS_FILE = "departments.toml"
PARTIES_FILE = "parties.toml"
REQUIRED = (DEPARTMENTS_FILE, RULE_FILE)
OPTIONAL = (PARTIES_FILE, OUTBOUND_FILE)

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*[.=]""")
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)")

_PARTY_KEYS = ("domain", "organisation", "kind")
_ACTION_KEYS = ("department", "owner", "cc", "cc_head", "id_prefix", "ack_template",
                "notify_template", "problem_type", "deadlines", "archive_class", "override_tag")


class _File:
    """One rule file's text, and the line of each table header and key (tomllib keeps none)."""

    def __init__(self, name: str, text: str):
        self.name = name
        self.lines: dict[tuple[str, int | None, str | None], int] = {}
        counts: dict[str, int] = {}
        table: tuple[str, int | None] = ("", None)
        in_string = False
        for number, line in enumerate(text.splitlines(), 1):
            was_in_string = in_string
            # Inside a multi-line string nothing is a key; an odd count of quotes opens or
            # closes one.
            in_string ^= bool(line.count('"""') % 2 or line.count("'''") % 2)
            if was_in_string:
                continue
            header = _HEADER.match(line)
            if header:
                name_ = header.group(2).strip()
                index = None
                if header.group(1) == "[[":
                    index = counts.get(name_, 0)
                    counts[name_] = index + 1
                table = (name_, index)
                self.lines.setdefault((*table, None), number)
                continue
            key = _KEY.match(line)
            if key:
                self.lines.setdefault((*table, key.group(1).strip("\"'")), number)

    def line(self, table: str, index: int | None = None, key: str | None = None) -> int | None:
        """The key's line, else its table's line, else None."""
        return self.lines.get((table, index, key)) or self.lines.get((table, index, None))


class _Problems(list):
    def add(self, file: _File | str, line: int | None, message: str) -> None:
        self.append(RuleProblem(file if isinstance(file, str) else file.name, line, message))


def load_rules(directory: str | Path) -> RuleSet:
    """Read and validate the rule files in `directory`; RuleError lists every problem."""
    folder = Path(directory)
    problems = _Problems()
    files: dict[str, tuple[_File, dict[str, Any]]] = {}
    versions: dict[str, str] = {}
    for name in (*REQUIRED, *OPTIONAL):
        read = _read(folder, name, problems)
        if read is not None:
            versions[name] = read[2]
            files[name] = read[:2]
    if any(name not in files for name in REQUIRED):
        raise RuleError(problems)  # without the directory and the rules nothing can be checked
    dept_file, dept_data = files[DEPARTMENTS_FILE]
    route_file, route_data = files[RULE_FILE]
    _top_level(dept_file, dept_data, ("department", "person"), problems)
    _top_level(route_file, route_data, ("rule", "default"), problems)
    default_prefix = _default_prefix(route_file, route_data, problems)
    directory = _directory(dept_file, dept_data, default_prefix, problems)
    parties = Parties(())
    if PARTIES_FILE in files:
        party_file, party_data = files[PARTIES_FILE]
        _top_level(party_file, party_data, ("party",), problems)
        parties = _parties(party_file, party_data, problems)
    default = _default(route_file, route_data, directory, default_prefix, problems)
    rules = _rules(route_file, route_data, directory, problems)
    outbound = _outbound(files.get(OUTBOUND_FILE), directory, problems)
    if problems:
        raise RuleError(problems)
    return RuleSet(directory=directory, parties=parties, rules=rules, default=default,
                   versions=versions, source=folder, outbound=outbound)


def _outbound(read: tuple[_File, dict[str, Any]] | None, directory: Directory,
              problems: _Problems) -> OutboundRules:
    if read is None:
        return OutboundRules()
    file, data = read
    _top_level(file, data, ("approval", "id_prefix", "officers"), problems)
    found, wrong = read_outbound_rules(data, file.line)
    for line, message in wrong:
        problems.add(file, line, message)
    for level, name in found.officers.items():
        office = directory.find(name)
        if office is None or office.head is None:
            problems.add(file, file.line("officers"),
                         f"[officers]: '{name}' is not a department with a head in {DEPARTMENTS_FILE}")
    return found


def _read(
    folder: Path, name: str, problems: _Problems
) -> tuple[_File, dict[str, Any], str] | None:
    path = folder / name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if name in REQUIRED:
            problems.add(name, None, f"required file is missing from {folder}")
        return None
    except OSError as exc:
        problems.add(name, None, f"cannot read: {exc.strerror}")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.add(name, line, "not UTF-8 text (save the file as UTF-8)")
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = _TOML_AT.search(str(exc))
        message = _TOML_AT.sub("", str(exc))
        if at:
            message += f" (column {at.group(2)})"
        problems.add(name, int(at.group(1)) if at else None, f"TOML syntax: {message}")
        return None
    return _File(name, text), data, hashlib.sha256(raw).hexdigest()[:12]


def _unknown(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(known)}"
    return f"unknown key '{key}'{hint}"


def _top_level(file: _File, data: dict[str, Any], known: tuple[str, ...], problems: _Problems):
    for key in data:
        if key not in known:
            problems.add(file, file.line("", None, key) or file.line(key), _unknown(key, known))


def _tables(file: _File, data: dict[str, Any], name: str, problems: _Problems) -> list[dict]:
    """The [[name]] tables, each a dict; anything else is reported."""
    tables = data.get(name, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.add(file, file.line(name) or file.line("", None, name),
                     f"'{name}' must be written as [[{name}]] tables")
        return []
    return tables


def _department_reader(directory: Directory) -> Callable[[Any], Department]:
    def read(value: Any) -> Department:
        name = rv.string(value)
        found = directory.find(name)
        if found is None:
            close = difflib.get_close_matches(name, sorted(directory.names), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise rv.Invalid(f"unknown department '{name}' (not in {DEPARTMENTS_FILE}){hint}")
        return found
    return read


def _condition_readers(directory: Directory) -> dict[str, Callable[[Any], Any]]:
    """How each condition kind's value is read; CONDITIONS names the kind of each key."""
    department = _department_reader(directory)
    return {
        "words": rv.strings,
        "regex": rv.regex,
        "bool": rv.boolean,
        "urgencies": rv.urgencies,
        "departments": lambda v: tuple(department(d) for d in rv.strings(v)),
        "globs": rv.globs,
        "domains": lambda v: tuple(rv.domain(d) for d in rv.strings(v)),
        "party_kinds": lambda v: frozenset(rv.one_of(PARTY_KINDS)(k) for k in rv.strings(v)),
        "addresses": lambda v: tuple(a.addr for a in rv.addresses(v)),
    }


def _fields(
    file: _File, table: dict[str, Any], where: tuple[str, int | None], label: str,
    readers: dict[str, Callable[[Any], Any]], problems: _Problems,
) -> dict[str, Any]:
    """Read each key of one table with its reader; unknown and bad keys become problems."""
    out = {}
    for key, value in table.items():
        line = file.line(*where, key)
        if key not in readers:
            problems.add(file, line, f"{label}: {_unknown(key, tuple(readers))}")
            continue
        try:
            out[key] = readers[key](value)
        except rv.Invalid as exc:
            problems.add(file, line, f"{label}: {key}: {exc}")
    return out


# --- the three files ----------------------------------------------------------------------

def _directory(
    file: _File, data: dict[str, Any], default_prefix: str, problems: _Problems
) -> Directory:
    readers = {"name": rv.string, "aliases": rv.strings, "mailboxes": rv.addresses,
               "head": rv.address, "members": rv.addresses, "id_prefix": rv.prefix,
               "deputy": rv.address}
    departments: list[Department] = []
    seen: dict[str, int | None] = {}  # name or alias (case-folded) → line of its first use
    for i, table in enumerate(_tables(file, data, "department", problems)):
        label = f"department '{table.get('name', f'#{i + 1}')}'"
        got = _fields(file, table, ("department", i), label, readers, problems)
        if "name" not in got:
            if "name" not in table:
                problems.add(file, file.line("department", i), f"{label}: missing key 'name'")
            continue
        for word in (got["name"], *got.get("aliases", ())):
            key = "name" if word == got["name"] else "aliases"
            if word.casefold() in seen:
                problems.add(file, file.line("department", i, key),
                             f"{label}: '{word}' is already used by the department at line "
                             f"{seen[word.casefold()]}")
            seen.setdefault(word.casefold(), file.line("department", i))
        departments.append(Department(
            name=got["name"], aliases=got.get("aliases", ()),
            mailbox_addresses=got.get("mailboxes", ()), head=got.get("head"),
            members=got.get("members", ()), id_prefix=got.get("id_prefix", default_prefix),
            deputy=got.get("deputy"),
        ))
    if not departments and not problems:
        problems.add(file, None, "no [[department]] tables: the directory is empty")
    return Directory(tuple(departments), _people(file, data, problems))


def _people(file: _File, data: dict[str, Any], problems: _Problems) -> tuple[Person, ...]:
    readers = {"address": rv.address, "mobile": rv.mobile, "feishu_id": rv.string}
    people: dict[str, Person] = {}
    for i, table in enumerate(_tables(file, data, "person", problems)):
        label = f"person '{table.get('address', f'#{i + 1}')}'"
        got = _fields(file, table, ("person", i), label, readers, problems)
        if "address" not in got:
            if "address" not in table:
                problems.add(file, file.line("person", i), f"{label}: missing key 'address'")
            continue
        addr = got["address"].addr
        if addr in people:
            problems.add(file, file.line("person", i), f"{label}: listed twice")
        people[addr] = Person(addr, got.get("mobile"), got.get("feishu_id"))
    return tuple(people.values())


def _parties(file: _File, data: dict[str, Any], problems: _Problems) -> Parties:
    readers = {"domain": rv.domain, "organisation": rv.string, "kind": rv.one_of(PARTY_KINDS)}
    parties: list[Party] = []
    seen: dict[str, int | None] = {}
    for i, table in enumerate(_tables(file, data, "party", problems)):
        label = f"party '{table.get('domain', f'#{i + 1}')}'"
        got = _fields(file, table, ("party", i), label, readers, problems)
        missing = [k for k in _PARTY_KEYS if k not in table]
        if missing:
            problems.add(file, file.line("party", i), f"{label}: missing {', '.join(missing)}")
        if len(got) < len(_PARTY_KEYS):
            continue
        if got["domain"] in seen:
            problems.add(file, file.line("party", i, "domain"),
                         f"{label}: domain already listed at line {seen[got['domain']]}")
        seen.setdefault(got["domain"], file.line("party", i))
        parties.append(Party(got["domain"], got["organisation"], got["kind"]))
    return Parties(tuple(parties))


def _default_prefix(file: _File, data: dict[str, Any], problems: _Problems) -> str:
    """[default].id_prefix, read first: departments without their own prefix take it."""
    try:
        return rv.prefix(data.get("default", {}).get("id_prefix", "NX"))
    except (rv.Invalid, AttributeError):
        return "NX"  # the problem itself is reported by _default


def _default(
    file: _File, data: dict[str, Any], directory: Directory, prefix: str, problems: _Problems
) -> Default:
    table = data.get("default")
    line = file.line("default")
    fallback = Default(Department("?", (), (), None, (), prefix), prefix, "其他", "ack",
                       "notify", line or 0)
    if not isinstance(table, dict):
        problems.add(file, line, "missing [default] table (department, id_prefix, problem_type)")
        return fallback
    readers = {"department": _department_reader(directory), "id_prefix": rv.prefix,
               "problem_type": rv.one_of(PROBLEM_TYPES), "ack_template": rv.template,
               "notify_template": rv.template}
    got = _fields(file, table, ("default", None), "[default]", readers, problems)
    if "department" not in table:
        problems.add(file, line, "[default]: missing key 'department'")
    if "department" not in got:
        return fallback
    return Default(got["department"], prefix, got.get("problem_type", "其他"),
                   got.get("ack_template", "ack"), got.get("notify_template", "notify"),
                   line or 0)


def _action_readers(directory: Directory) -> dict[str, Callable[[Any], Any]]:
    department = _department_reader(directory)

    def cc(value: Any) -> tuple[Address, ...]:
        # A department's name stands for its head: cc = ["质量部"] copies 质量部's head.
        out = []
        for item in rv.strings(value):
            if "@" in item:
                out.append(rv.address(item))
                continue
            dept = department(item)
            if dept.head is None:
                raise rv.Invalid(f"department '{dept.name}' has no head to copy")
            out.append(dept.head)
        return tuple(out)

    return {"department": department, "owner": rv.address, "cc": cc, "cc_head": rv.boolean,
            "id_prefix": rv.prefix, "ack_template": rv.template, "notify_template": rv.template,
            "problem_type": rv.one_of(PROBLEM_TYPES), "deadlines": rv.deadlines,
            "archive_class": _archive_class, "override_tag": rv.boolean}


def _archive_class(value: Any) -> str:
    return ARCHIVE_CLASS_WORDS[rv.one_of(tuple(ARCHIVE_CLASS_WORDS))(value)]


def _rules(
    file: _File, data: dict[str, Any], directory: Directory, problems: _Problems
) -> tuple[Rule, ...]:
    conditions = _condition_readers(directory)
    readers = {"name": rv.string, "description": rv.free_text, "continue": rv.boolean,
               **_action_readers(directory),
               **{name: conditions[c.kind] for name, c in CONDITIONS.items()}}
    rules: list[Rule] = []
    seen: dict[str, int | None] = {}
    for i, table in enumerate(_tables(file, data, "rule", problems)):
        line = file.line("rule", i)
        label = f"rule '{table.get('name', f'#{i + 1}')}'"
        got = _fields(file, table, ("rule", i), label, readers, problems)
        if "name" not in table:
            problems.add(file, line, f"{label}: missing key 'name'")
        name = got.get("name", f"#{i + 1}")
        if name in seen:
            problems.add(file, file.line("rule", i, "name"),
                         f"{label}: name already used by the rule at line {seen[name]}")
        seen.setdefault(name, line)
        tests = tuple(Test(CONDITIONS[k], v, file.line("rule", i, k) or line or 0)
                      for k, v in got.items() if k in CONDITIONS)
        actions = Actions(**{k: v for k, v in got.items() if k in _ACTION_KEYS})
        rules.append(Rule(name, got.get("description", ""), line or 0, tests, actions,
                          proceed=got.get("continue", False)))
    return tuple(rules)

