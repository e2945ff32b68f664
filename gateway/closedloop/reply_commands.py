"""Commands in the first lines of a staff reply: 状态, 责任人, 紧急程度, 备注, 解决方案, 归档类别,
电话, 会议纪要, 对外, 部门, 关联项目.

A command is one row of COMMANDS and one handler in usecases/reply_actions.HANDLERS.
Parsing is all or nothing: a reply with any problem yields the problems and no commands,
so the gateway can answer and change nothing.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from gateway.closedloop.calls import Call, read_call
from gateway.model import Address
from gateway.vocabulary import (
    ARCHIVE_CLASS_WORDS,
    BARE_STATUS_WORDS,
    STATUS_WORDS,
    URGENCY_WORDS,
    YES_NO_WORDS,
)

MAX_COMMAND_LINES = 12  # commands are read in the first lines only; below them all is prose
_KEY_LINE = re.compile(r"(?P<key>[^:：\s][^:：]{0,15}?)\s*[:：]\s*(?P<value>.*)")
_SHORT_KEY = re.compile(r"#?[\w\u4e00-\u9fff]{1,12}")
_TRAILING_PUNCT = "。.!！;；,，"
_SUGGEST_CUTOFF = 0.75  # this close to a keyword, a line is a mistyped command
_HINT_CUTOFF = 0.5  # this close, the keyword is worth suggesting


class CommandValueError(ValueError):
    """A command's value cannot be read; the message says what is expected."""


@dataclass(frozen=True, slots=True)
class People:
    """Who a name in `责任人: 张三` may mean: the directory's people by display name."""

    by_name: Mapping[str, Address] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    keywords: tuple[str, ...]  # what people write before the colon, any case, any width
    read: Callable[[str, People], Any]  # value text → value; raises CommandValueError
    usage: str  # one line for the help in the command-error reply
    multiline: bool = False  # the value goes on over following lines up to a blank line
    # When given, a line with this keyword is a command only if its value passes; otherwise
    # it is prose (a signature's `电话: 0571-8888 6666` logs no call).
    applies: Callable[[str], bool] | None = None


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    value: Any
    line: int  # 1-based line in the new text
    source: str  # the line(s) as written


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    source: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.line} 行「{self.source}」: {self.message}"


@dataclass(frozen=True, slots=True)
class ParsedReply:
    commands: tuple[Command, ...]
    problems: tuple[Problem, ...]
    public_text: str  # the new text without command lines and internal remarks
    internal: bool  # the reply begins with 备注: — all of it stays inside

    @property
    def ok(self) -> bool:
        return not self.problems


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).strip().rstrip(_TRAILING_PUNCT).strip()
    return " ".join(folded.casefold().split())


def choice(words: Mapping[str, Any], expected: str) -> Callable[[str, People], Any]:
    """A reader for a value from a word table (keys compared folded), e.g. 重要/一般."""
    folded = {_fold(word): value for word, value in words.items()}

    def read(value: str, people: People) -> Any:
        found = folded.get(_fold(value).strip("【】[]"))
        if found is None:
            raise CommandValueError(expected)
        return found

    return read


read_status = choice({**STATUS_WORDS, **BARE_STATUS_WORDS}, "状态只能是 处理中、已完成 或 已关闭")
read_urgency = choice(URGENCY_WORDS, "紧急程度只能是 普通、紧急 或 特急")
read_archive_class = choice(ARCHIVE_CLASS_WORDS, "归档类别只能是 普通、重要 或 涉密")


def read_owner(value: str, people: People) -> Address:
    name, addr = parseaddr(unicodedata.normalize("NFKC", value).strip())
    if addr and "@" in addr:
        return Address(name.strip(), addr.strip().lower())
    found = people.by_name.get(_fold(value))
    if found is None:
        raise CommandValueError("请写成 姓名 <邮箱地址>, 或部门目录中的姓名")
    return found


def read_text(value: str, people: People) -> str:
    text = value.strip()
    if not text:
        raise CommandValueError("内容不能为空")
    return text


read_yes_no = choice(YES_NO_WORDS, "只能写 是 或 否")


def read_phone(value: str, people: People) -> Call:
    try:
        return read_call(value)
    except ValueError as exc:
        raise CommandValueError(str(exc)) from None


_PHONE_NUMBER = re.compile(r"[\d\s()（）+\-—/转分机ext.#]+", re.IGNORECASE)


def is_call_note(value: str) -> bool:
    """Not a bare telephone number, which is what signatures write after 电话:."""
    return not _PHONE_NUMBER.fullmatch(unicodedata.normalize("NFKC", value).strip())


def read_minutes(value: str, people: People) -> str:
    # Empty is allowed here: the minutes may come as an attached file (checked by the caller).
    return value.strip()


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("status", ("状态", "狀態", "处理状态", "處理狀態", "status", "state"), read_status,
                "状态: 处理中 | 已完成 | 已关闭 (也可单独一行写 已完成 或 #close)"),
    CommandSpec("owner", ("责任人", "責任人", "处理人", "處理人", "owner", "assign", "assignee"),
                read_owner, "责任人: 张三 <zhang.san@corp.example>"),
    CommandSpec("urgency", ("紧急程度", "緊急程度", "紧急度", "urgency", "priority"), read_urgency,
                "紧急程度: 普通 | 紧急 | 特急"),
    CommandSpec("note", ("备注", "備註", "内部备注", "內部備註", "note", "internal"), read_text,
                "备注: 内部备注 (写到空行为止), 只记入记录, 不发给外部", multiline=True),
    CommandSpec("resolution", ("解决方案", "解決方案", "处理结果", "處理結果", "resolution", "solution"),
                read_text, "解决方案: 处理结果 (写到空行为止), 写入结案回执", multiline=True),
    CommandSpec("archive_class", ("归档类别", "歸檔類別", "归档级别", "archive", "archive class"),
                read_archive_class, "归档类别: 普通 | 重要 | 涉密 (决定保存期限)"),
    CommandSpec("phone", ("电话", "電話", "电话记录", "電話記錄", "phone", "call"), read_phone,
                "电话: 11:20 已电话告知供应商, 对方确认今天到场 (记入沟通记录)",
                applies=is_call_note),
    CommandSpec("minutes", ("会议纪要", "會議紀要", "纪要", "紀要", "minutes"), read_minutes,
                "会议纪要: 纪要正文 (写到空行为止) 或附上纪要文件, 发给责任人和涉及部门",
                multiline=True),
    CommandSpec("external", ("对外", "對外", "external"), read_yes_no,
                "对外: 是 (会议纪要也发给外部单位)"),
    CommandSpec("department", ("部门", "部門", "接收部门", "接收部門", "改派", "department", "dept"),
                read_text, "部门: 采购部 (改派给另一个部门; 责任人随之改为该部门负责人)"),
    CommandSpec("project", ("关联项目", "關聯項目", "project"), read_text,
                "关联项目: 项目名称 (记入登记表的关联项目)"),
)


@functools.cache
def _keywords(commands: tuple[CommandSpec, ...]) -> dict[str, CommandSpec]:
    return {_fold(word): spec for spec in commands for word in spec.keywords}


def usage_lines() -> tuple[str, ...]:
    return tuple(spec.usage for spec in COMMANDS)


@dataclass
class _Reader:
    lines: list[str]
    people: People
    keywords: dict[str, CommandSpec]  # folded keyword → its command
    commands: list[Command] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    consumed: set[int] = field(default_factory=set)
    in_block: bool = False  # the line above was a command (no blank line between)


def parse_reply(
    new_text: str, people: People = People(), commands: tuple[CommandSpec, ...] = COMMANDS
) -> ParsedReply:
    """Read the command block at the top of `new_text` (quoted history already removed)."""
    reader = _Reader(new_text.split("\n"), people, _keywords(commands))
    index = 0
    while index < min(len(reader.lines), MAX_COMMAND_LINES):
        line = reader.lines[index].strip()
        if not line:
            reader.in_block = False
            index += 1
            continue
        step = _read_line(reader, index, line)
        if step == 0:  # prose: people greet before or between commands
            reader.in_block = False
            step = 1
        index += step
    internal = bool(reader.commands) and reader.commands[0].name == "note" \
        and reader.commands[0].line == _first_line(reader.lines)
    if reader.problems:
        return ParsedReply((), tuple(reader.problems), "", internal)
    public = "" if internal else _public_text(reader)
    return ParsedReply(tuple(reader.commands), (), public, internal)


def _read_line(reader: _Reader, index: int, line: str) -> int:
    """How many lines the command at `index` took; 0 when the line is not a command."""
    folded = _fold(line)
    if folded in BARE_STATUS_WORDS:
        _take(reader, index, 1, Command("status", BARE_STATUS_WORDS[folded], index + 1, line))
        return 1
    match = _KEY_LINE.fullmatch(line)
    spec = reader.keywords.get(_fold(match["key"])) if match else None
    if spec is None:
        return _maybe_unknown(reader, index, line, match)
    if spec.applies is not None and not spec.applies(match["value"]):
        return 0
    value, taken = match["value"], 1
    if spec.multiline:
        value, taken = _continued(reader, index, value)
    try:
        parsed = spec.read(value, reader.people)
    except CommandValueError as exc:
        reader.problems.append(Problem(index + 1, line, str(exc)))
        return taken
    source = "\n".join(reader.lines[index:index + taken]).strip()
    _take(reader, index, taken, Command(spec.name, parsed, index + 1, source))
    return taken


def _maybe_unknown(reader: _Reader, index: int, line: str, match: re.Match | None) -> int:
    """A line that looks like a command we do not know, or plain prose (0)."""
    if line.startswith("#") and _SHORT_KEY.fullmatch(line.split()[0]):
        reader.problems.append(Problem(index + 1, line, "无法识别的指令"))
        return 1
    if match is None or not match["value"].strip() or not _SHORT_KEY.fullmatch(match["key"]):
        return 0
    key, value = _fold(match["key"]), _fold(match["value"])
    close = difflib.get_close_matches(key, list(reader.keywords), n=1, cutoff=_HINT_CUTOFF)
    hint = f" (是否想写「{close[0]}」?)" if close else ""
    looks_meant = (
        bool(difflib.get_close_matches(key, list(reader.keywords), n=1, cutoff=_SUGGEST_CUTOFF))
        or value in STATUS_WORDS or value in URGENCY_WORDS
        or reader.in_block  # right below a command, "word: value" is meant as one too
    )
    if looks_meant:
        reader.problems.append(Problem(index + 1, line, "无法识别的指令" + hint))
        return 1
    return 0


def _continued(reader: _Reader, index: int, first: str) -> tuple[str, int]:
    """A multi-line value: up to a blank line or the next command line."""
    parts, taken = [first.strip()], 1
    for line in reader.lines[index + 1:]:
        stripped = line.strip()
        if not stripped or _is_command_line(stripped, reader.keywords):
            break
        parts.append(stripped)
        taken += 1
    return "\n".join(p for p in parts if p), taken


def _is_command_line(line: str, keywords: Mapping[str, CommandSpec]) -> bool:
    if _fold(line) in BARE_STATUS_WORDS:
        return True
    match = _KEY_LINE.fullmatch(line)
    return bool(match) and _fold(match["key"]) in keywords


def _take(reader: _Reader, index: int, taken: int, command: Command) -> None:
    reader.commands.append(command)
    reader.in_block = True
    reader.consumed.update(range(index, index + taken))


def _first_line(lines: list[str]) -> int:
    return next((i + 1 for i, line in enumerate(lines) if line.strip()), 0)


def _public_text(reader: _Reader) -> str:
    kept = [line for i, line in enumerate(reader.lines) if i not in reader.consumed]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
