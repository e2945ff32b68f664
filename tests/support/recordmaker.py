"""Records with chosen times and fields, stored straight into a fresh register (no mail loop),
and the report week they fall in."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from paths import ROOT

from gateway.config import load_settings
from gateway.db import records
from gateway.db.models import Mail, Record
from gateway.reports.evaluation import parse_period
from gateway.runtime.assembly import Gateway

MONDAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
TZ = ZoneInfo("Asia/Shanghai")
WEEK = parse_period("2026-W48")  # Monday 23 – Sunday 29 November 2026
AS_OF = datetime(2026, 11, 27, 12, 0, tzinfo=TZ)  # Friday noon


def offline_gateway(tmp_path: Path, **sections) -> Gateway:
    """A gateway over a SQLite file; no mailbox or SMTP is touched unless a test flushes."""
    overrides = {
        "gateway": {"domain": "gateway.corp.example", "internal_domains": ["corp.example"],
                    "rules_dir": str(ROOT / "rules"), "templates_dir": str(ROOT / "templates"),
                    "storage_dir": str(tmp_path / "storage")},
        "mailbox": {"kind": "maildir", "path": str(tmp_path / "mailbox")},
        "smtp": {"from": "信息交流网关 <gateway@corp.example>"},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return Gateway(load_settings(None, overrides=overrides))


def add_record(session, *, created: datetime = MONDAY, department: str = "生产部",
               urgency: str = "urgent", status: str = "open", mails: int = 0, **fields) -> Record:
    record_id, seq = records.allocate_record_id(session, "NX", created.year)
    values = dict(
        id=record_id, prefix="NX", year=created.year, seq=seq, direction="inbound",
        status=status, urgency=urgency, title="设备故障通知", subject="【紧急】生产部-设备故障通知",
        summary="3号线注塑机突发液压故障, 已停机。", problem_type="故障", channel="email",
        from_addr="wang@customer.example", from_name="王工", organisation="大客户有限公司",
        department=department, owner_addr="li.qiang@corp.example", owner_name="李强",
        cc=[], departments=[department], sent_at=created - timedelta(minutes=5),
        created_at=created, due_at=created + timedelta(hours=24), rule_name="default",
    )
    values.update(fields)
    record = Record(**values)
    session.add(record)
    for n in range(mails):
        raw = (f"From: wang@customer.example\r\nSubject: mail {n}\r\nMessage-ID: <m{n}.{record_id}"
               f"@customer.example>\r\n\r\n第{n}封\r\n").encode()
        session.add(Mail(direction="in" if n % 2 == 0 else "out", record=record,
                         message_id=f"m{n}.{record_id}@customer.example", kind="original",
                         subject=f"mail {n}", from_addr="wang@customer.example",
                         to_addrs=["gateway@corp.example"], date=created, created_at=created,
                         size=len(raw), digest=hashlib.sha256(raw).hexdigest(), raw=raw))
    session.flush()
    records.add_log(session, record, at=created, kind="created", actor=record.from_addr,
                    text=f"收到来信, 建立记录: {record.subject}")
    return record
