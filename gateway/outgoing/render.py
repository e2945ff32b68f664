"""Templates and plain data in, complete outgoing RFC 5322 messages out: the Renderer."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from gateway.errors import TemplateError
from gateway.model import Address, Attachment, InboundMail, Status, Urgency
from gateway.outgoing import mime
from gateway.outgoing.compiled import CompiledTemplates
from gateway.outgoing.headers import (
    CRLF,
    DOMAIN,
    MSG_ID,
    address_field,
    clean,
    extra_fields,
    make_message_id,
    record_field,
    thread_ids,
    threading_fields,
    unstructured_field,
)
from gateway.outgoing.mime import AttachedFile

AUTO_SUBMITTED = frozenset({"no", "auto-generated", "auto-replied", "auto-notified"})
NO_HEADERS: Mapping[str, str] = MappingProxyType({})
SUBJECT_SUFFIX = ".subject.j2"
_WEEKDAYS = "一二三四五六日"
AUTOESCAPED = ("html", "html.j2")  # template extensions whose output is HTML-escaped


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    kind: str  # the template name
    message_id: str  # without angle brackets
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str  # as the recipient will read it, decoded
    in_reply_to: str | None
    references: tuple[str, ...]
    raw: bytes = field(repr=False)  # the whole message, CRLF line endings, for SMTP DATA


class Renderer:
    """Renders `{kind}.subject.j2`, `{kind}.txt.j2` and optional `{kind}.html.j2` into mail.

    Every template also sees `gateway` (name, signature, address), built here from who the
    gateway is, so no caller can sign a mail differently.
    """

    def __init__(self, templates_dir: Path, *, domain: str, from_addr: Address,
                 name: str | None = None, signature: str = "", eight_bit: bool = True,
                 compiled_dir: Path | None = None):
        if not DOMAIN.fullmatch(domain):
            raise ValueError(f"not a mail domain: {domain!r}")
        self.templates_dir = Path(templates_dir)
        self.domain = domain
        self.from_addr = from_addr
        self.eight_bit = eight_bit  # UTF-8 text parts as 8bit (the relay has 8BITMIME)
        self.compiled_dir = compiled_dir  # compiled templates kept between starts, if set
        self.env = make_environment(self.templates_dir, compiled_dir)  # sets the template cache too
        # Read-only, so a template cannot change what the next mail's templates see.
        self.gateway: Mapping[str, str] = MappingProxyType({
            "name": from_addr.name if name is None else name, "signature": signature,
            "address": from_addr.addr})
        self._from = address_field("From", (from_addr,))
        self._x_loop = unstructured_field("X-Loop", from_addr.addr)

    @property
    def env(self) -> ImmutableSandboxedEnvironment:
        return self._env

    @env.setter
    def env(self, env: ImmutableSandboxedEnvironment) -> None:
        # A new set of templates (a reload): compiled templates by name, None where missing.
        self._env = env
        self._templates: dict[str, jinja2.Template | None] = {}

    def kinds(self) -> list[str]:
        """The kinds the templates folder can render (those with a subject template)."""
        names = self.env.list_templates(filter_func=lambda n: n.endswith(SUBJECT_SUFFIX))
        return sorted(n.removesuffix(SUBJECT_SUFFIX) for n in names if "/" not in n)

    def render(
        self,
        kind: str,
        *,
        to: Sequence[Address],
        cc: Sequence[Address] = (),
        context: Mapping[str, Any],
        reply_to: InboundMail | None = None,
        reply_to_message_id: str | None = None,
        references: Sequence[str] = (),
        attach_original: bytes | None = None,
        attachments: Sequence[AttachedFile] = (),
        message_id: str | None = None,
        now: datetime,
        auto_submitted: str = "auto-replied",
        extra_headers: Mapping[str, str] = NO_HEADERS,
        subject_mark: str = "",
    ) -> OutgoingMail:
        if not to:
            raise TemplateError(f"{kind}: no recipient")
        if now.utcoffset() is None:
            raise ValueError("now must be an aware datetime")
        if auto_submitted not in AUTO_SUBMITTED:
            raise ValueError(f"Auto-Submitted must be one of {sorted(AUTO_SUBMITTED)}")
        data = {**context, "gateway": self.gateway,
                "original_attached": attach_original is not None}
        subject = clean(subject_mark + self._render(f"{kind}.subject.j2", data))
        text = self._render(f"{kind}.txt.j2", data)
        html = self._render(f"{kind}.html.j2", data, optional=True)
        parent, refs = thread_ids(reply_to, reply_to_message_id, references)
        message_id = message_id or make_message_id(self.domain, uuid.uuid4().hex, kind)
        if not MSG_ID.fullmatch(message_id):
            raise ValueError(f"not a Message-ID: {message_id!r}")
        fields = [
            self._from,
            address_field("To", to, kind),
            *([address_field("Cc", cc, kind)] if cc else []),
            unstructured_field("Subject", subject),
            f"Date: {format_datetime(now)}",
            f"Message-ID: <{message_id}>",
            *threading_fields(parent, refs),
            *([f"Auto-Submitted: {auto_submitted}"] if auto_submitted != "no" else []),
            "X-Auto-Response-Suppress: All",
            self._x_loop,
            *record_field(context),
            *extra_fields(extra_headers),
            "MIME-Version: 1.0",
        ]
        head = (CRLF.join(fields) + CRLF).encode("ascii")
        return OutgoingMail(
            kind=kind, message_id=message_id, to=tuple(to), cc=tuple(cc), subject=subject,
            in_reply_to=parent, references=refs,
            raw=head + mime.body(text, html, attach_original, attachments, self.eight_bit),
        )

    def _render(self, name: str, data: Mapping[str, Any], optional: bool = False) -> Any:
        try:
            template = self._template(name)
            if template is None:
                if optional:
                    return None
                raise jinja2.TemplateNotFound(name)
            # Template.render without its copy of `data` and its traceback rewriting: the
            # error below names the template and the problem, never the rewritten frames.
            return "".join(template.root_render_func(template.new_context(data)))
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template {exc.name} not found in {self.templates_dir}") from exc
        except Exception as exc:
            # Filters and sandbox checks raise all sorts; the caller needs one typed error.
            raise TemplateError(f"template {name} failed: {type(exc).__name__}: {exc}") from exc

    def _template(self, name: str) -> jinja2.Template | None:
        if name not in self._templates:
            try:
                self._templates[name] = self.env.get_template(name)
            except jinja2.TemplateNotFound as exc:
                if exc.name != name:
                    raise  # an include or a parent template is missing: not this one
                self._templates[name] = None
        return self._templates[name]


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, reading `record.id` from a plain mapping without a failed attribute first.

    Jinja looks up the attribute, and on AttributeError the item; a dict or a read-only
    mapping has no attributes but its type's methods, so for any other name the item is what
    Jinja would return anyway. Contexts are mappings: this is the commonest lookup of all.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        kind = type(obj)
        if kind in _MAPPINGS and attribute not in _MAPPING_ATTRIBUTES:
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        elif attribute in _data_fields(kind):
            return getattr(obj, attribute)  # a dataclass's public field: data, as an item is
        return super().getattr(obj, attribute)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # A plain dict where Jinja makes a ChainMap over the environment's globals: every
        # render copies a template's globals into its context, and a ChainMap iterates in
        # Python. The globals here never change once the environment is made.
        return {**self.globals, **(d or {})}


@functools.cache
def _data_fields(kind: type) -> frozenset[str]:
    """The public fields of a dataclass (an address, an attachment, a department); none else."""
    if not dataclasses.is_dataclass(kind):
        return frozenset()
    return frozenset(f.name for f in dataclasses.fields(kind) if not f.name.startswith("_"))


_MAPPINGS = frozenset({dict, MappingProxyType})
_MAPPING_ATTRIBUTES = frozenset(dir(dict)) | frozenset(dir(MappingProxyType))


def make_environment(templates_dir: Path, compiled_dir: Path | None = None
                     ) -> ImmutableSandboxedEnvironment:
    """The sandbox templates run in; mail content only ever enters it as data.

    With `compiled_dir`, templates compiled once are kept there for the next start.
    """
    env = _Sandbox(
        loader=jinja2.FileSystemLoader(templates_dir, encoding="utf-8"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=AUTOESCAPED, default_for_string=False, default=False
        ),
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # edits are taken in by reload.py, which validates them first
        cache_size=-1,  # a plain dict: every include looks its template up, the set is small
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        datetime=format_local_datetime,
        urgency_label=urgency_label,
        status_label=status_label,
        filesize=format_size,
    )
    if compiled_dir is not None:
        env.bytecode_cache = CompiledTemplates.in_folder(compiled_dir, env, AUTOESCAPED)
    return env


def format_local_datetime(value: datetime | None) -> str:
    """2026年11月23日 14:00 (周一), in the zone the value carries."""
    if value is None:
        return "待定"
    # Fields, not strftime: for a zone-aware value, strftime asks the zone again (ZoneInfo:
    # three times slower), and every answer formats several of these.
    return (f"{value.year}年{value.month}月{value.day}日 {value.hour:02d}:{value.minute:02d} "
            f"(周{_WEEKDAYS[value.weekday()]})")


def urgency_label(value: Urgency | str) -> str:
    return Urgency(value).label


def status_label(value: Status | str) -> str:
    return Status(value).label


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def sample_context(now: datetime | None = None) -> dict[str, Any]:
    """A context with every variable templates may use, for tests and template checks."""
    tz = timezone(timedelta(hours=8), "CST")
    created = (now or datetime(2026, 11, 20, 9, 30, tzinfo=tz)).astimezone(tz)
    sender = Address("陈美", "chen.mei@bigcustomer.example")
    return {
        "record": {
            "id": "NX-2026-001", "title": "设备故障通知", "subject": "【紧急】生产部-设备故障通知",
            "urgency": Urgency.URGENT, "status": Status.OPEN, "department": "生产部",
            "owner": "王工", "owner_addr": "wang.gong@corp.example", "problem_type": "故障投诉",
            "summary": "3号产线液压泵故障, 请尽快派人检修。", "organisation": "大客户有限公司",
            "from_addr": sender.addr, "from_name": sender.name, "created_at": created,
            "from_department": "大客户有限公司", "related_to": "NX-2026-000",
            "requested_department": "物流部",
            "due_at": created + timedelta(hours=4), "resolve_due_at": created + timedelta(days=2),
            # the closed loop's fields (reply_context.loop_context)
            "resolution": "更换3号线液压泵密封件, 试机正常。", "rating": None,
            "first_response_at": created + timedelta(hours=1),
            "resolved_at": created + timedelta(days=1), "closed_at": None,
            "departments": ["生产部", "质量部"], "classified": False,
        },
        "mail": {
            "subject": "【紧急】生产部-设备故障通知", "from_addr": sender,
            "text": "您好:\n3号产线液压泵故障, 请尽快派人检修。\n陈美",
            "attachments": (Attachment("故障照片.jpg", "image/jpeg", 245_760),),
            "date": created,
        },
        "party": None,
        "department": {"name": "生产部"},
        "notice": {  # reminder / escalation / critical mails (reminders.py)
            "kind": "escalation", "label": "超时升级", "clock": "首次反馈", "seq": 0,
            "deadline": created + timedelta(hours=4), "overdue": True, "left": "1小时30分",
        },
        "reply": {
            "text": "陈女士您好, 维修人员已到现场。", "author": "王工", "to_staff": False,
            "problems": ["第 1 行「状太: 已完成」: 无法识别的指令"],
            "commands": ["状态: 处理中 | 已完成 | 已关闭"], "rating": 2,
            "previous_rating": None, "comment": "修了两次还漏油", "department": "质量部",
            "may_act": ["责任人 王工 <wang.gong@corp.example>", "生产部、质量部 的负责人和成员"],
            "minutes": "1. 供应商明天到场更换密封件\n2. 质量部复检", "files": ["纪要.docx"],
        },
        # `gateway` is not here: the Renderer adds it to every context from its own identity.
        # The gateway's own notices (usecases/system_mail.py): mail it could not take or
        # deliver, rule files it refused, and the evaluation report.
        "problem": {
            "subject": "【紧急】生产部-设备故障通知", "sender_name": sender.name,
            "size": 31_457_280, "limit": 26_214_400, "message_id": "NX-2026-001.ack@corp.example",
            "recipients": (sender.addr,), "error": "550 5.1.1 mailbox unavailable",
            "details": ["routing.toml:12: 部门「不存在部」未在通讯录中登记"],
        },
        "outbound": _outbound_sample(created),
        "report": {"label": "2026-W47", "opened": 12, "closed": 9, "breaches": 1,
                   "filename": "report-2026-W47.html"},
    }


def _outbound_sample(created: datetime) -> dict[str, Any]:
    """What the templates of messages the enterprise starts see (usecases/transmit.py)."""
    return {
        "text": "陈经理您好:\n因生产计划调整, 原定12月15日交货的C材料需提前至12月12日, 请确认。",
        "receivers": "供应商B公司 (采购经理 <buyer@supplier.example>)", "cc": "",
        "sender": "王工", "from_department": "生产部", "outside": True,
        "approver": "李强", "level": "部门负责人", "step": 1, "steps": 2,
        "approvers": ["部门负责人 李强", "分管领导 黄副总"], "next": "分管领导 黄副总",
        "rule": "供应商往来", "reason": "交期请再核实", "deadline": created + timedelta(days=1),
        "overdue": True,
        "reply_needed": True, "cc_sender": True, "expected": created + timedelta(days=2),
        "sent_at": created, "author": "采购经理", "feedback": "可以提前到12月12日交货。", "note": "",
        "attachments": ["订单变更.pdf"],
        "record_id": "NX-2026-001", "subject": "回复: [NX-2026-001] 请审核",
        "problem_title": "未能识别审核意见",
        "problems": ["「某某公司」: 不是邮件地址, 也不是已登记的部门或群组"],
        "usage": ["收件人: 名称 <地址>, 部门名称或群组"],
        "report": {"addr": "buyer@supplier.example", "action": "failed", "status": "5.1.1",
                   "diagnostic": "550 5.1.1 mailbox unavailable"},
    }
