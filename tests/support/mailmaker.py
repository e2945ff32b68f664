"""Mails as a customer's client writes them: GBK-encoded, to the gateway, on a Monday morning."""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import Header
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr

GATEWAY = "gateway@corp.example"
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def gbk_mail(subject="【紧急】生产部-设备故障通知", *, sender=("王工", "wang@customer.example"),
             message_id="fault-1@customer.example", body="3号线注塑机突发液压故障, 已停机。",
             headers=()) -> bytes:
    message = MIMEText(body, "plain", "gbk")
    message["From"] = formataddr((str(Header(sender[0], "gbk")), sender[1]))
    message["To"] = GATEWAY
    message["Subject"] = Header(subject, "gbk")
    message["Date"] = format_datetime(START)
    message["Message-ID"] = f"<{message_id}>"
    for name, value in headers:
        message[name] = value
    return message.as_bytes()
