"""The plain data types that flow between the gateway's parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Urgency(StrEnum):
    """紧急程度. Values are the stable English keys used in JSON and config."""

    NORMAL = "normal"
    URGENT = "urgent"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        return _URGENCY_LABELS[self]


_URGENCY_LABELS = {Urgency.NORMAL: "普通", Urgency.URGENT: "紧急", Urgency.CRITICAL: "特急"}


class Status(StrEnum):
    """处理状态 of a record."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    AWAITING_APPROVAL = "awaiting_approval"  # a message the enterprise starts, before 审核
    RETURNED = "returned"  # rejected by an approver, back with the sender

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    Status.OPEN: "待处理",
    Status.IN_PROGRESS: "处理中",
    Status.RESOLVED: "已完成",
    Status.CLOSED: "已关闭",
    Status.AWAITING_APPROVAL: "待审核",
    Status.RETURNED: "已退回",
}


class Direction(StrEnum):
    """Which way a record's communication runs; the values are stored."""

    INBOUND = "inbound"  # from outside (stored as "external" before)
    OUTBOUND = "outbound"  # the enterprise writes to outside parties
    INTERNAL = "internal"  # inside the enterprise

    @property
    def label(self) -> str:
        return _DIRECTION_LABELS[self]


_DIRECTION_LABELS = {Direction.INBOUND: "外部来信", Direction.OUTBOUND: "对外发出",
                     Direction.INTERNAL: "内部"}


class LogKind(StrEnum):
    """What one line of a record's 沟通记录 says happened; the values are stored."""

    CREATED = "created"
    ROUTED = "routed"
    MAIL_IN = "mail_in"
    MAIL_OUT = "mail_out"
    NO_ACK = "no_ack"
    COMMAND_ERROR = "command_error"
    STATUS = "status"
    NOTE = "note"
    OWNER = "owner"
    URGENCY = "urgency"
    RESOLUTION = "resolution"
    RATING = "rating"
    INVOLVED = "involved"
    RELAY = "relay"
    SUSPICIOUS = "suspicious"
    REFUSED = "refused"
    IGNORED = "ignored"
    WARNING = "warning"
    NOTICE = "notice"
    NOTICE_SUPERSEDED = "notice_superseded"
    ARCHIVE_CLASS = "archive_class"
    ARCHIVED = "archived"
    PURGED = "purged"
    PHONE = "phone"
    MINUTES = "minutes"
    COMMENT = "comment"
    EXPORTED = "exported"
    ALERT = "alert"
    DRAFT = "draft"
    APPROVAL = "approval"
    TRANSMITTED = "transmitted"
    DELIVERY = "delivery"
    FEEDBACK = "feedback"
    CHASER = "chaser"
    PARTICIPANT = "participant"
    LINKED = "linked"
    DEPARTMENT = "department"
    PROJECT = "project"

    @property
    def label(self) -> str:
        return _LOG_KIND_LABELS[self]


_LOG_KIND_LABELS = {
    LogKind.CREATED: "建立",
    LogKind.ROUTED: "分派",
    LogKind.MAIL_IN: "来信",
    LogKind.MAIL_OUT: "发信",
    LogKind.NO_ACK: "未发回执",
    LogKind.COMMAND_ERROR: "指令错误",
    LogKind.STATUS: "状态",
    LogKind.NOTE: "内部备注",
    LogKind.OWNER: "责任人",
    LogKind.URGENCY: "紧急程度",
    LogKind.RESOLUTION: "解决方案",
    LogKind.RATING: "评价",
    LogKind.INVOLVED: "涉及部门",
    LogKind.RELAY: "转发",
    LogKind.SUSPICIOUS: "可疑来信",
    LogKind.REFUSED: "未处理",
    LogKind.IGNORED: "已忽略",
    LogKind.WARNING: "警告",
    LogKind.NOTICE: "提醒",
    LogKind.NOTICE_SUPERSEDED: "提醒合并",
    LogKind.ARCHIVE_CLASS: "归档类别",
    LogKind.ARCHIVED: "归档",
    LogKind.PURGED: "保存期满删除",
    LogKind.PHONE: "电话",
    LogKind.MINUTES: "会议纪要",
    LogKind.COMMENT: "意见",
    LogKind.EXPORTED: "导出",
    LogKind.ALERT: "即时消息",
    LogKind.DRAFT: "发起",
    LogKind.APPROVAL: "审核",
    LogKind.TRANSMITTED: "传递",
    LogKind.DELIVERY: "投递回执",
    LogKind.FEEDBACK: "反馈",
    LogKind.CHASER: "催办",
    LogKind.PARTICIPANT: "参与方来信",
    LogKind.LINKED: "关联记录",
    LogKind.DEPARTMENT: "改派部门",
    LogKind.PROJECT: "关联项目",
}


class AutoKind(StrEnum):
    """Why a mail must never get an automatic answer."""

    AUTO_REPLY = "auto_reply"  # RFC 3834 Auto-Submitted, X-Autoreply, out-of-office
    BOUNCE = "bounce"  # multipart/report, MAILER-DAEMON, null sender
    BULK = "bulk"  # Precedence: bulk/junk
    LIST = "list"  # List-Id / List-Unsubscribe / Precedence: list


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    addr: str  # lower-cased local@domain, "" when the header had none

    @property
    def domain(self) -> str:
        return self.addr.rpartition("@")[2] if "@" in self.addr else ""

    def __str__(self) -> str:
        return f"{self.name} <{self.addr}>" if self.name else self.addr


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str  # decoded (RFC 2231 / RFC 2047); "" when the part had no name
    content_type: str
    size: int  # decoded payload size in bytes


@dataclass(frozen=True, slots=True)
class SubjectTag:
    """What a subject line says: 【urgency】department-title, plus reply prefixes and record id."""

    urgency: Urgency  # NORMAL when the subject carries no tag
    urgency_tagged: bool  # whether an urgency word was present at all
    department: str | None
    title: str
    record_id: str | None  # a quoted record id such as NX-2026-001
    prefixes: tuple[str, ...]  # stripped reply/forward prefixes, outermost first
    is_reply: bool  # whether any stripped prefix is a reply (Re/回复/答复…)
    is_forward: bool  # whether any stripped prefix is a forward (Fwd/FW/转发…)


@dataclass(frozen=True, slots=True)
class InboundMail:
    """A parsed incoming mail. The raw bytes stay with the caller; this is what was read off them."""

    message_id: str  # without angle brackets; synthesised from a digest when missing
    message_id_synthetic: bool
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_addr: Address
    sender: Address | None  # envelope-ish: Return-Path when present
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    delivered_to: tuple[str, ...]  # Delivered-To / X-Original-To, lower-cased
    date: datetime | None  # aware; None when missing or unreadable
    text: str  # the text body; converted from HTML when there is no text part
    html: str | None
    attachments: tuple[Attachment, ...]
    auto: AutoKind | None
    auto_reason: str | None  # the header or part that made it automatic
    x_loop: tuple[str, ...]
    defects: tuple[str, ...]  # parser defects worth reporting; empty for a clean mail
    size: int  # raw size in bytes
    headers: dict[str, str] = field(default_factory=dict)  # a few decoded headers, lower-case keys

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc

    @property
    def answer_to(self) -> Address:
        """Where an answer goes: the first Reply-To, else From."""
        return self.reply_to[0] if self.reply_to else self.from_addr


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """IMAP resume point: the last UID committed under a UIDVALIDITY."""

    uidvalidity: int
    last_uid: int


class Settlement(StrEnum):
    """What became of a fetched mail once its transaction committed: where the source files it."""

    PROCESSED = "processed"  # stored as a record or added to one (or already stored before)
    QUARANTINED = "quarantined"  # kept with a reason, not routed


@dataclass(frozen=True, slots=True)
class FetchedMail:
    key: str  # stable id within the source, e.g. "imap:INBOX:1700000000:42" or a Maildir name
    raw: bytes
    size: int  # size the server announced (RFC822.SIZE); len(raw) for local sources
    uid: int | None = None  # IMAP UID, None for other sources
    truncated: bool = False  # only headers were fetched (oversize mail)


class RegisteredRecord(Protocol):
    """What the register (信息交流记录表) and its reports read of a stored record.

    db.models.Record has these fields; reports/ depends on this shape, not on the database.
    """

    id: str
    status: str
    urgency: str
    subject: str
    summary: str
    problem_type: str
    channel: str  # 传递方式
    from_addr: str
    from_name: str
    from_department: str | None
    organisation: str | None
    department: str
    owner_addr: str | None
    owner_name: str | None
    project: str | None
    remarks: str | None
    requested_department: str | None  # a department word the directory did not know
    archive_id: str | None
    rating: int | None
    archive_class: str | None  # ordinary | important | classified (涉密)
    sent_at: datetime
    created_at: datetime
    due_at: datetime | None
    resolve_due_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class RegisterCounts:
    """What the metrics textfile reports, counted in the register."""

    mails_in: int
    records: int
    acks_sent: int
    outbox_pending: int
    breaches: int  # first response late, or overdue and still missing
    quarantined: int
    dead_letters: int
