"""归档与保存期限: archive closed records, set their class, purge expired ones, hand a thread over.

Personal data and the append-only log: purging clears the raw mail bytes and the personal
fields of Mail and Record rows (names, addresses, the body summary, remarks, resolution) and
appends one `purged` entry. Log entries themselves are never changed (seed 003: records are
not altered after the fact); they hold who wrote when and subjects, never mail bodies, and
are kept as the audit trail for as long as the register exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from gateway.db import archive, records
from gateway.db.models import Record
from gateway.deadlines.duration import Duration
from gateway.deadlines.worktime import WorkCalendar
from gateway.errors import ArchiveError, NotFound
from gateway.model import LogKind, Status, Urgency
from gateway.vocabulary import ARCHIVE_CATEGORY_LABELS, ARCHIVE_CLASS_LABELS, ARCHIVE_CLASS_WORDS

ARCHIVE_PREFIX = "ND"  # 归档编号 ND-2026-001 (seed 003 writes ND-2024-1001)


def archive_class_key(word: str) -> str:
    key = ARCHIVE_CLASS_WORDS.get(word.strip().casefold()) or ARCHIVE_CLASS_WORDS.get(word.strip())
    if key is None:
        raise ArchiveError(f"unknown archive class {word!r}; use one of "
                           + ", ".join(ARCHIVE_CLASS_LABELS.values()))
    return key


def set_archive_class(session: Session, record: Record, klass: str, actor: str,
                      now: datetime) -> None:
    """Set 归档类别 (普通/重要/涉密 or ordinary/important/classified) and log who did it."""
    key = archive_class_key(klass)
    before = record.archive_class
    record.archive_class = key
    records.add_log(session, record, at=now, kind=LogKind.ARCHIVE_CLASS, actor=actor,
                    text=f"归档类别设为 {ARCHIVE_CLASS_LABELS[key]}",
                    data={"from": before, "to": key})


def archive_due(session: Session, now: datetime, calendar: WorkCalendar, delay: Duration,
                default_class: str) -> list[str]:
    """Archive every closed record whose delay after closing has passed; their archive ids."""
    candidates = archive.closed_unarchived(session)
    done = []
    for record in candidates:
        if calendar.add(record.closed_at, delay).at > now:
            continue
        year = now.astimezone(calendar.tz).year
        record.archive_id, _ = records.allocate_record_id(session, ARCHIVE_PREFIX, year)
        record.archive_class = record.archive_class or default_class
        record.archived_at = now
        records.add_log(
            session, record, at=now, kind="archived", actor="gateway",
            text=(f"归档 {record.archive_id} ({ARCHIVE_CATEGORY_LABELS[record.direction]}, "
                  f"{ARCHIVE_CLASS_LABELS[record.archive_class]})"),
            data={"archive_id": record.archive_id, "class": record.archive_class},
        )
        done.append(record.archive_id)
    return done


def expires_at(archived_at: datetime, years: int) -> datetime:
    try:
        return archived_at.replace(year=archived_at.year + years)
    except ValueError:  # 29 February into a common year
        return archived_at.replace(year=archived_at.year + years, day=28)


@dataclass(frozen=True, slots=True)
class Expired:
    record_id: str
    archive_id: str
    archive_class: str
    expired_at: datetime
    mails: int


def expired(session: Session, now: datetime, retention_years: Mapping[str, int]) -> list[Expired]:
    """Archived, not yet purged records past their class's retention; unlisted classes never."""
    rows = archive.archived_unpurged(session, retention_years)
    out = []
    for record in rows:
        at = expires_at(record.archived_at, retention_years[record.archive_class])
        if at <= now:
            out.append(Expired(record.id, record.archive_id or "", record.archive_class, at,
                               len(record.mails)))
    return out


def purge(session: Session, now: datetime, retention_years: Mapping[str, int], *,
          dry_run: bool) -> list[Expired]:
    """Delete raw mails and personal data of expired records; one audit entry each."""
    found = expired(session, now, retention_years)
    if dry_run:
        return found
    for item in found:
        record = records.get_record(session, item.record_id)
        _forget(session, record)
        record.purged_at = now
        years = retention_years[item.archive_class]
        records.add_log(
            session, record, at=now, kind="purged", actor="gateway",
            text=(f"保存期满 ({ARCHIVE_CLASS_LABELS[item.archive_class]}, {years} 年), "
                  f"已删除原始邮件 {item.mails} 封及个人信息"),
            data={"archive_id": item.archive_id, "mails": item.mails, "years": years},
        )
    return found


def _forget(session: Session, record: Record) -> None:
    archive.forget_mails(session, [m.id for m in record.mails])
    record.from_name, record.from_addr = "", ""
    record.owner_name = record.owner_addr = None
    record.cc = []
    record.summary = ""
    record.remarks = record.resolution = None


# --- handing a thread over ------------------------------------------------------------------

SUMMARY_FIELDS = (
    ("信息编号", "id"), ("归档编号", "archive_id"), ("信息主题", "subject"),
    ("发起人", "from_addr"), ("发起单位", "organisation"), ("接收部门", "department"),
    ("接收人", "owner_addr"), ("紧急程度", "urgency"), ("问题类型", "problem_type"),
    ("处理状态", "status"), ("内容摘要", "summary"), ("处理结果", "resolution"),
    ("满意度", "rating"),
)


def find(session: Session, ident: str) -> Record:
    """By record id (NX-2026-001) or archive id (ND-2026-001)."""
    record = records.get_record(session, ident) or records.by_archive_id(session, ident)
    if record is None:
        raise NotFound(f"no record or archive {ident}")
    return record


def export_thread(session: Session, ident: str, out: Path, tz, *, by: str = "",
                  now: datetime | None = None) -> list[Path]:
    """Every mail of the thread as NNN-in|out-kind.eml, plus summary.txt and record.json.

    Exporting a 涉密 record is logged with who ran it (`by`) before anything is written.
    """
    record = find(session, ident)
    if record.archive_class == "classified":
        records.add_log(session, record, at=now or datetime.now(UTC), kind=LogKind.EXPORTED,
                        actor=by or "unknown", text=f"涉密记录导出 (由 {by or '未知用户'} 导出到 {out})",
                        data={"by": by, "out": str(out)})
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for number, mail in enumerate(record.mails, 1):
        if not mail.raw:
            continue  # purged: only the audit trail is left
        path = out / f"{number:03d}-{mail.direction}-{mail.kind}.eml"
        path.write_bytes(mail.raw)
        written.append(path)
    summary = out / "summary.txt"
    summary.write_text(_summary_text(record, tz), encoding="utf-8")
    data = {**{attr: _plain(getattr(record, attr)) for _, attr in SUMMARY_FIELDS},
            "archive_class": record.archive_class, "direction": record.direction,
            "log": [{"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "text": e.text}
                    for e in record.log]}
    (out / "record.json").write_text(json.dumps(data, ensure_ascii=False, indent=2),
                                     encoding="utf-8")
    return [*written, summary, out / "record.json"]


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _summary_text(record: Record, tz) -> str:
    labels = {"urgency": lambda v: Urgency(v).label, "status": lambda v: Status(v).label}
    lines = [f"{label}: {labels.get(attr, str)(v) if (v := getattr(record, attr)) else '-'}"
             for label, attr in SUMMARY_FIELDS]
    lines.append(f"归档分类: {ARCHIVE_CATEGORY_LABELS.get(record.direction, record.direction)}"
                 f" / {ARCHIVE_CLASS_LABELS.get(record.archive_class or '', '-')}")
    if record.purged_at:
        lines.append(f"已于 {record.purged_at.astimezone(tz):%Y-%m-%d} 按保存期限删除原始邮件")
    lines += ["", "沟通记录:"]
    lines += [f"{e.at.astimezone(tz):%Y-%m-%d %H:%M} [{e.kind}] {e.actor}: {e.text}"
              for e in record.log]
    return "\n".join(lines) + "\n"
