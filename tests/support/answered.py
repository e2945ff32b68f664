"""The mail the gateway answers in render tests and benchmarks: the original, and its parse."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from gateway.model import Address, InboundMail

GATEWAY = Address("信息交流网关", "gateway@corp.example")
STAFF = (Address("王工", "wang.gong@corp.example"),)
NOW = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)

UTF8_ORIGINAL = (
    "From: =?utf-8?b?6ZmI576O?= <chen.mei@bigcustomer.example>\r\n"
    "To: gateway@corp.example\r\n"
    "Subject: =?utf-8?b?44CQ57Sn5oCl44CR55Sf5Lqn6YOoLeiuvuWkh+aVhemanOmAmuefpQ==?=\r\n"
    "Message-ID: <orig-1@bigcustomer.example>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "3号产线液压泵故障, 请尽快派人检修。\r\n"
).encode()


def inbound(**changes) -> InboundMail:
    """UTF8_ORIGINAL as the parser reads it; `changes` replace fields."""
    mail = InboundMail(
        message_id="orig-1@bigcustomer.example", message_id_synthetic=False, in_reply_to=(),
        references=(), subject="【紧急】生产部-设备故障通知",
        from_addr=Address("陈美", "chen.mei@bigcustomer.example"), sender=None, reply_to=(),
        to=(GATEWAY,), cc=(), delivered_to=(), date=NOW, text="故障", html=None,
        attachments=(), auto=None, auto_reason=None, x_loop=(), defects=(), size=100,
    )
    return dataclasses.replace(mail, **changes)
