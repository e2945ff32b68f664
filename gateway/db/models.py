"""The register's tables: records, every mail in and out, the append-only log, the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC out, on every backend (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        text_of = super().bind_processor(dialect)

        def sqlite_text(value: datetime | None) -> str | None:
            # SQLite's DATETIME text in one call: storing a mail writes a dozen of them.
            if value is None or value.tzinfo is None:
                return text_of(value)  # None, or the error for a naive value
            return value.astimezone(UTC).isoformat(" ", "microseconds")[:-6]  # less "+00:00"

        return sqlite_text

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# The stored next check time that means "look at this record at the next due-check": a new
# record, or one whose deadlines or status just changed (see db/chased.py).
CHECK_NOW = datetime(1970, 1, 1, tzinfo=UTC)
# Where a record's response and resolution deadlines still run (the partial indexes' rows).
UNANSWERED = "first_response_at IS NULL AND resolved_at IS NULL"
UNRESOLVED = "resolved_at IS NULL"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Record(Base):
    """信息交流记录: one communication thread and everything the register keeps about it."""

    __tablename__ = "records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # 信息编号, e.g. NX-2026-001
    prefix: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(8))  # model.Direction: inbound|outbound|internal
    status: Mapped[str] = mapped_column(String(24), index=True)  # model.Status values
    urgency: Mapped[str] = mapped_column(String(16))  # model.Urgency values
    title: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)  # 信息主题 as written
    summary: Mapped[str] = mapped_column(Text, default="")  # 内容摘要, ≤200 characters
    problem_type: Mapped[str] = mapped_column(String(32), default="其他")  # 问题类型
    channel: Mapped[str] = mapped_column(String(64), default="email")  # 传递方式: email+phone…
    # 发起部门/发起人: the originator; for outside parties the organisation stands for the department
    from_addr: Mapped[str] = mapped_column(String(320), index=True)
    from_name: Mapped[str] = mapped_column(Text, default="")
    from_department: Mapped[str | None] = mapped_column(Text)
    organisation: Mapped[str | None] = mapped_column(Text)
    party_kind: Mapped[str | None] = mapped_column(String(16))
    # 接收部门/单位 and 接收人
    department: Mapped[str] = mapped_column(Text, index=True)
    owner_addr: Mapped[str | None] = mapped_column(String(320))
    owner_name: Mapped[str | None] = mapped_column(Text)
    cc: Mapped[list[str]] = mapped_column(JSON, default=list)
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)  # 涉及部门
    project: Mapped[str | None] = mapped_column(Text)  # 关联项目
    remarks: Mapped[str | None] = mapped_column(Text)  # 备注
    # 关联记录: the record a stranger's mail quoted, which this record was opened beside
    related_to: Mapped[str | None] = mapped_column(String(32))
    # The department the subject asked for when the directory knew no such department
    requested_department: Mapped[str | None] = mapped_column(Text)
    archive_id: Mapped[str | None] = mapped_column(String(32))  # 归档编号
    resolution: Mapped[str | None] = mapped_column(Text)  # 处理结果: 解决方案
    rating: Mapped[int | None] = mapped_column(Integer)  # 发起人满意度 1–5
    rating_comment: Mapped[str | None] = mapped_column(Text)  # what the originator wrote with it
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)  # 发起时间 (the mail's Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # received here
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # 预计反馈时间
    resolve_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # 实际反馈时间
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # 完成时间
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rule_name: Mapped[str] = mapped_column(Text)
    rule_file: Mapped[str | None] = mapped_column(Text)
    rule_version: Mapped[str | None] = mapped_column(String(64))
    # The routing rule's [deadlines] overrides, kept so a re-grade computes with the same policy.
    deadline_overrides: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    archive_class: Mapped[str | None] = mapped_column(String(16))  # ordinary|important|classified
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # raw mail, personal data gone
    # A message the enterprise starts: receivers and options as written, the text to send.
    outbound: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    transmitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # 传递时间
    # When the due-check next has something to do for this record; None: nothing left to chase.
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=CHECK_NOW)

    mails: Mapped[list[Mail]] = relationship(back_populates="record", order_by="Mail.id")
    log: Mapped[list[LogEntry]] = relationship(back_populates="record", order_by="LogEntry.id")
    approvals: Mapped[list[Approval]] = relationship(order_by="Approval.id", viewonly=True)
    transmissions: Mapped[list[Transmission]] = relationship(order_by="Transmission.id",
                                                             viewonly=True)

    # The listings' and the due-check's query shapes on a register of a million records.
    __table_args__ = (
        Index("ix_records_next_check_at", "next_check_at"),
        Index("ix_records_created_at_id", "created_at", "id"),
        Index("ix_records_status_created_at", "status", "created_at"),
        Index("ix_records_department_status_created_at", "department", "status", "created_at"),
        Index("ix_records_closed_at", "closed_at"),
        # Partial: `sla due` reads only running deadlines, off these in deadline order.
        Index("ix_records_status_due_at", "status", "due_at",
              sqlite_where=text(UNANSWERED), postgresql_where=text(UNANSWERED)),
        Index("ix_records_status_resolve_due_at", "status", "resolve_due_at",
              sqlite_where=text(UNRESOLVED), postgresql_where=text(UNRESOLVED)),
    )


class Mail(Base):
    """Every mail in and out, raw bytes kept as received or as sent."""

    __tablename__ = "mails"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    record_id: Mapped[str | None] = mapped_column(ForeignKey("records.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(998), index=True)
    # Set for incoming mail only: the database itself refuses a second copy of one Message-ID.
    inbound_key: Mapped[str | None] = mapped_column(String(998), unique=True)
    source_key: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))  # mail: original|reply|auto; out: template name
    subject: Mapped[str] = mapped_column(Text, default="")
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    to_addrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    date: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    size: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    quarantine_reason: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    record: Mapped[Record | None] = relationship(back_populates="mails")


class LogEntry(Base):
    """沟通记录: one line of a record's history. Inserted, never updated or deleted."""

    __tablename__ = "log_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))  # created | routed | mail_in | mail_out | ...
    actor: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mails.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    record: Mapped[Record] = relationship(back_populates="log")
    mail: Mapped[Mail | None] = relationship()


class Outbox(Base):
    """One outgoing mail waiting for, or done with, SMTP."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("mails.id"), unique=True)
    record_id: Mapped[str | None] = mapped_column(ForeignKey("records.id"))
    envelope_from: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Recipients the SMTP server refused while accepting others: address → its reply.
    refused: Mapped[dict[str, str] | None] = mapped_column(JSON)

    mail: Mapped[Mail] = relationship()
    record: Mapped[Record | None] = relationship()

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


class SentNotice(Base):
    """A reminder, escalation or follow-up that went out (or was overtaken): never sent twice.

    The unique (record, key) pair is the promise: two overlapping runs cannot both insert it,
    so the loser's transaction, outbox row included, rolls back.
    """

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    key: Mapped[str] = mapped_column(String(96))  # chase.Notice.key
    kind: Mapped[str] = mapped_column(String(16))  # chase.NoticeKind values
    clock: Mapped[str] = mapped_column(String(16))  # response | resolution | opened
    seq: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))  # sent | superseded
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mails.id"))

    mail: Mapped[Mail | None] = relationship()

    __table_args__ = (UniqueConstraint("record_id", "key"),)


class StoredCheckpoint(Base):
    """Where a mailbox source resumes (model.Checkpoint): the last UID under a UIDVALIDITY."""

    __tablename__ = "checkpoints"

    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RegisterMark(Base):
    """A named value the register keeps about itself (what its stored times were made under)."""

    __tablename__ = "register_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IdSequence(Base):
    """The last sequence number handed out per id prefix and year."""

    __tablename__ = "id_sequences"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class AppendOnlyViolation(RuntimeError):
    """Something tried to change or remove a log entry."""


@event.listens_for(Session, "before_flush")
def _refuse_log_changes(session: Session, flush_context: Any, instances: Any) -> None:
    # The database triggers refuse it too; this catches it earlier with a readable message.
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, LogEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation(f"log entry {obj.id} of {obj.record_id} is append-only")


# What chasing reads of a record: a change of any of them may move its next notice.
CHASE_INPUTS = ("status", "urgency", "created_at", "due_at", "resolve_due_at",
                "first_response_at", "resolved_at")


@event.listens_for(Session, "before_flush")
def _recheck_changed(session: Session, flush_context: Any, instances: Any) -> None:
    # The due-check looks at a changed record next time and stores its new check time.
    for obj in session.dirty:
        if isinstance(obj, Record):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in CHASE_INPUTS):
                obj.next_check_at = CHECK_NOW


class AutoReply(Base):
    """One automatic answer sent to an address; counted to cap replies per sender and hour."""

    __tablename__ = "auto_replies"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    addr: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))  # the template that answered

    __table_args__ = (Index("ix_auto_replies_addr_at", "addr", "at"),)


class AlertOutbox(Base):
    """One instant-message alert for one robot channel, waiting for, or done with, its webhook."""

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    record_id: Mapped[str | None] = mapped_column(ForeignKey("records.id"))
    channel: Mapped[str] = mapped_column(String(200))  # [[im.channel]] name
    kind: Mapped[str] = mapped_column(String(16))  # wecom | dingtalk | feishu
    event: Mapped[str] = mapped_column(String(32))  # critical_opened | escalation | …
    body: Mapped[dict[str, Any]] = mapped_column(JSON)  # the robot's JSON, unsigned
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_alert_outbox_due", "status", "next_attempt_at"),
        Index("ix_alert_outbox_channel_sent", "channel", "sent_at"),
    )


class Approval(Base):
    """审核: one approver asked about one version of a message; decided once."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)  # 1, then +1 per resubmission
    step: Mapped[int] = mapped_column(Integer)  # 1 for the first level of the chain
    level: Mapped[str] = mapped_column(String(16))  # head | deputy | general_manager | legal
    approver_addr: Mapped[str] = mapped_column(String(320))
    approver_name: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(String(16))  # pending | approve | reject
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    request_message_id: Mapped[str | None] = mapped_column(String(998))


class Transmission(Base):
    """传递记录: one recipient of a message the enterprise sent, and what became of it there."""

    __tablename__ = "transmissions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("mails.id"))  # the mail as sent
    message_id: Mapped[str] = mapped_column(String(998), index=True)
    addr: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(8))  # to | cc
    label: Mapped[str] = mapped_column(Text, default="")  # 接收部门/单位 this address stands for
    channel: Mapped[str] = mapped_column(String(16), default="email")  # 传递方式
    dsn_action: Mapped[str | None] = mapped_column(String(16))  # failed | delayed | delivered…
    dsn_status: Mapped[str | None] = mapped_column(String(16))
    dsn_diagnostic: Mapped[str | None] = mapped_column(Text)
    dsn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    mdn_disposition: Mapped[str | None] = mapped_column(String(64))  # displayed | deleted…
    mdn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    mail: Mapped[Mail] = relationship()
    outbox: Mapped[Outbox | None] = relationship(
        primaryjoin="Transmission.mail_id == foreign(Outbox.mail_id)", viewonly=True,
        uselist=False)

    @property
    def accepted(self) -> bool | None:
        """Whether the SMTP server took the mail for this address; None while still queued."""
        if self.outbox is None or self.outbox.status == "pending":
            return None
        return self.outbox.status == "sent" and self.addr not in (self.outbox.refused or {})
