"""The demo: the seeds' scenarios through the whole pipeline, with no server and no config."""

from __future__ import annotations

import mailbox
import shutil
import socket
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gateway.config import Settings, load_settings
from gateway.errors import ConfigError, NotInstalled
from gateway.runtime.oneshot import drain

MARKER = ".gateway-demo"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Scenario:
    sender: tuple[str, str]
    subject: str
    body: str
    charset: str = "utf-8"
    attachment: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


SCENARIOS = (
    Scenario(("王工", "wang.gong@corp.example"), "【紧急】生产部-设备故障通知",
             "3号线注塑机今晨8:20突发液压故障, 已停机。停工范围: 3号线全部工位。\n"
             "请维修组立即到场, 预计恢复时间待评估。", "gbk"),
    Scenario(("李经理", "li@steel-supplier.example"), "原材料交付延期通知",
             "贵司订单PO-2026-118所需冷轧钢板因物流原因将延期5天交付, 请协商新的交付时间。",
             "gb2312", attachment="交付计划.xlsx"),
    Scenario(("Chen Mei", "chen.mei@bigcustomer.example"), "[一般] 产品功能优化建议",
             "建议在下一版本中增加批量导出功能, 方便我们的财务对账。"),
    Scenario(("市场监管局", "notice@samr.gov.cn"), "【特急】关于执行新版产品标签合规要求的通知",
             "各相关企业: 新版产品标签规范自下月1日起施行, 请于5个工作日内反馈整改计划。"),
    Scenario(("張先生", "zhang@hk-partner.example"), "【緊急】客戶投訴-包裝破損",
             "本週收到的第二批貨物包裝破損嚴重, 請盡快處理並回覆。", "big5"),
    Scenario(("赵敏", "zhao.min@corp.example"), "市场部-新产品推广需求对接",
             "请产品部同步新品上市时间节点与推广资源分配, 下周三前反馈。"),
    # Department words as people write them: Traditional 財務處 is 财务部; 物流部 is no
    # department of ours, so the record waits at the default desk with the word kept.
    Scenario(("陳會計", "chen@hk-partner.example"), "【一般】財務處-十一月對賬單核對",
             "附上十一月對賬單, 請核對後回覆確認。", "big5"),
    Scenario(("刘经理", "liu@logistics-co.example"), "物流部-托盘回收安排",
             "上月送货留下的 40 个托盘请安排回收, 请告知方便的时间。"),
)


@dataclass(frozen=True)
class DemoReport:
    """What the demo did: the register it filled, one record in full, and the mail counts."""

    settings: Settings
    rows: list[dict[str, Any]]  # the register, newest first (records list --json)
    shown: dict[str, Any]  # the first record with its log (records show --json)
    # Records worth a look: a stranger's linked record, a reassigned one, one with a participant
    highlights: list[dict[str, Any]]
    actions: Counter  # what became of the mails taken in
    sent: int  # mails the local SMTP server captured
    sent_folder: Path
    started: dict[str, Any] | None = None  # the outside request the enterprise started


def run_demo(folder: Path) -> DemoReport:
    """Run the scenarios in a fresh `folder`; an existing one must be an earlier demo's."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        raise NotInstalled.extra("demo", "the demo's local SMTP server needs") from None
    folder = _fresh(folder)
    sent = mailbox.Maildir(folder / "sent", create=True)
    capture = Controller(_Capture(sent), hostname="127.0.0.1", port=_free_port())
    capture.start()
    try:
        return _run(folder, capture.port, sent)
    finally:
        capture.stop()


def _run(folder: Path, smtp_port: int, sent: mailbox.Maildir) -> DemoReport:
    from gateway.db.records import RecordFilter, list_records
    from gateway.runtime.assembly import Gateway
    from gateway.usecases.context import as_json

    settings = load_settings(None, overrides=_overrides(folder, smtp_port))
    inbox = mailbox.Maildir(settings.maildir_path, create=True)
    start = datetime.now(SHANGHAI) - timedelta(minutes=30)
    for n, scenario in enumerate(SCENARIOS):
        inbox.add(_build(scenario, start + timedelta(minutes=n), f"demo-{n}@senders.example"))
    gateway = Gateway(settings)
    try:
        actions = _drain(gateway)
        by_sender = _record_ids(gateway)
        for raw in _follow_ups(by_sender, start):
            inbox.add(raw)
        actions += _drain(gateway)
        started_id = _start_outside_request(gateway, inbox, start + timedelta(minutes=22), actions)
        with gateway.sessions() as session:
            records = list_records(session, RecordFilter(limit=50))
            rows = [as_json(r) for r in records]
            shown = as_json(records[-1], with_log=True)
            started = as_json(next(r for r in records if r.id == started_id), with_log=True)
            wanted = {by_sender[CUSTOMER_COLLEAGUE_OF], by_sender[UNKNOWN_DEPARTMENT_FROM]}
            highlights = [as_json(r, with_log=True) for r in reversed(records)
                          if r.id in wanted or r.related_to]
    finally:
        gateway.close()
    return DemoReport(settings, rows, shown, highlights, actions, len(sent), folder / "sent",
                      started)


# 发起 → 审核 → 传递 → 反馈: 王工 asks 供应商B公司 to bring a delivery forward; 生产部's head and
# its 分管领导 approve (rules/outbound.toml, 供应商往来), the gateway sends it from the official
# address, and the supplier's answer comes back to 王工.
OUTSIDE_REQUEST = Scenario(
    ("王工", "wang.gong@corp.example"), "原材料订单交期调整",
    "收件人: 陈经理 <chen@supplier.example>\n期望反馈: 2个工作日\n\n陈经理您好:\n"
    "因生产计划调整, 原定12月15日交货的C材料需提前至12月12日, 请确认是否可行。\n王工")


def _start_outside_request(gateway, inbox: mailbox.Maildir, when: datetime,
                           actions: Counter) -> str:
    inbox.add(_build(OUTSIDE_REQUEST, when, "demo-draft@corp.example"))
    actions += _drain(gateway)
    record_id = _started_id(gateway)
    steps = (
        Scenario(("李强", "li.qiang@corp.example"), f"回复: [{record_id}] 请审核", "同意"),
        Scenario(("黄副总", "huang.fuzong@corp.example"), f"回复: [{record_id}] 请审核",
                 "同意，注意语气客气些。"),
        Scenario(("陈经理", "chen@supplier.example"), f"Re: [{record_id}] 原材料订单交期调整",
                 "王工您好, 可以提前至12月12日交货。"),
    )
    for n, step in enumerate(steps):
        inbox.add(_build(step, when + timedelta(minutes=n + 1), f"demo-step-{n}@example"))
        actions += _drain(gateway)
    return record_id


def _started_id(gateway) -> str:
    from gateway.db.records import RecordFilter, list_records

    with gateway.sessions() as session:
        return next(r.id for r in list_records(session, RecordFilter(limit=1000))
                    if r.outbound is not None)


def _drain(gateway) -> Counter:
    actions = drain(gateway)
    gateway.flush()
    return actions


CUSTOMER_COLLEAGUE_OF = "chen.mei@bigcustomer.example"
UNKNOWN_DEPARTMENT_FROM = "liu@logistics-co.example"


def _record_ids(gateway) -> dict[str, str]:
    """Each originator's record id (the demo's senders open one record each)."""
    from gateway.db.records import RecordFilter, list_records

    with gateway.sessions() as session:
        return {r.from_addr: r.id for r in list_records(session, RecordFilter(limit=1000))}


def _follow_ups(by_sender: dict[str, str], start: datetime) -> list[bytes]:
    first = by_sender["wang.gong@corp.example"]
    reply = Scenario(("王工", "wang.gong@corp.example"), f"回复: [{first}] 已受理: 【紧急】生产部-设备故障通知",
                     "补充: 故障液压泵型号为 HP-300, 备件库存为零。")
    away = Scenario(("Chen Mei", CUSTOMER_COLLEAGUE_OF), "自动回复: 产品功能优化建议",
                    "我正在休假, 11月30日返回。", headers=(("Auto-Submitted", "auto-replied"),))
    # A colleague of the originator (same organisation) joins the record and reaches its owner.
    colleague = Scenario(("王芳", "wang.fang@bigcustomer.example"),
                         f"回复: [{by_sender[CUSTOMER_COLLEAGUE_OF]}] 已受理: [一般] 产品功能优化建议",
                         "我是 Chen Mei 的同事, 她休假期间由我跟进: 导出请支持 Excel 格式。")
    # A stranger quoting someone else's record gets a record of their own, linked to it.
    stranger = Scenario(("孙先生", "sun@elsewhere.example"), f"关于 {first} 的问题",
                        "听说贵司 3 号线也出过液压故障, 我们的设备情况类似, 请帮忙看看。")
    # The default desk hands the 物流部 record to 采购部 by reply.
    desk = Scenario(("何丽", "he.li@corp.example"),
                    f"回复: [{by_sender[UNKNOWN_DEPARTMENT_FROM]}] 通知: 托盘回收安排",
                    "部门: 采购处\n备注: 托盘回收归采购部管\n\n刘经理您好, 已转采购部安排, 今天内答复您。")
    return [
        _build(reply, start + timedelta(minutes=20), "demo-reply@corp.example"),
        _build(away, start + timedelta(minutes=21), "demo-away@bigcustomer.example"),
        b"\x00\x01 this is not a mail at all \xff\xfe",
        _build(colleague, start + timedelta(minutes=22), "demo-colleague@bigcustomer.example"),
        _build(stranger, start + timedelta(minutes=23), "demo-stranger@elsewhere.example"),
        _build(desk, start + timedelta(minutes=24), "demo-desk@corp.example"),
    ]


def _build(s: Scenario, when: datetime, message_id: str) -> bytes:
    text = MIMEText(s.body, "plain", s.charset)
    message = text
    if s.attachment:
        message = MIMEMultipart()
        message.attach(text)
        part = MIMEApplication(b"PK\x03\x04 demo spreadsheet", Name=s.attachment)
        part.add_header("Content-Disposition", "attachment", filename=(s.charset, "", s.attachment))
        message.attach(part)
    message["From"] = formataddr((str(Header(s.sender[0], s.charset)), s.sender[1]))
    message["To"] = "gateway@corp.example"
    message["Subject"] = Header(s.subject, s.charset)
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<{message_id}>"
    for name, value in s.headers:
        message[name] = value
    return message.as_bytes()


def _overrides(folder: Path, smtp_port: int) -> dict:
    # Rules and templates are the shipped ones (the settings' defaults).
    return {
        "gateway": {"storage_dir": str(folder), "domain": "gateway.corp.example",
                    "internal_domains": ["corp.example"]},
        "mailbox": {"kind": "maildir", "path": str(folder / "mailbox")},
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "tls": "none",
                 "from": "信息交流网关 <gateway@corp.example>"},
    }


def _fresh(folder: Path) -> Path:
    if folder.exists():
        if not (folder / MARKER).exists():
            raise ConfigError(f"demo: {folder} exists and is not a demo folder; pick --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).touch()
    return folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Capture:
    """An SMTP server's handler that files every accepted mail into a local Maildir."""

    def __init__(self, box: mailbox.Maildir):
        self.box = box

    async def handle_DATA(self, server, session, envelope) -> str:
        self.box.add(envelope.original_content or envelope.content)
        return "250 OK"
