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


# --- replies as ordinary mail clients write them -----------------------------------------------
# Each client's Message-ID shape, its quoting of the parent, and the header fields it adds.
# Staff write from the company's domain, so their ids often end in @corp.example too.

import hashlib  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from email.mime.multipart import MIMEMultipart  # noqa: E402


@dataclass(frozen=True)
class Client:
    name: str
    reply_prefix: str
    charset: str
    headers: tuple[tuple[str, str], ...]
    html: bool = False

    def message_id(self, n: int, sender: str) -> str:
        local, _, domain = sender.partition("@")
        seed = uuid.UUID(bytes=hashlib.sha256(f"{self.name}/{n}/{sender}".encode()).digest()[:16])
        if self.name == "thunderbird":
            return f"{seed}@{domain}"
        if self.name == "apple-mail":
            return f"{str(seed).upper()}@{domain}"
        if self.name == "coremail":
            return f"{seed.hex[:8]}.{seed.hex[8:12]}.{seed.hex[12:23]}.Coremail.{local}@{domain}"
        if self.name == "mutt":
            return f"20261123100{n % 10}00.GA{seed.int % 100000}@host.{domain}"
        if self.name == "outlook-zh":
            box = f"HK0PR03MB{seed.int % 10000:04d}"
            return f"{box}{seed.hex[:24].upper()}@{box}.apcprd03.prod.outlook.com"
        if self.name == "foxmail":
            return f"20261129120{n % 10}{seed.int % 10**12:012d}@{domain}"
        if self.name == "qq-mail":
            return f"tencent_{seed.hex.upper()}{seed.hex[:8].upper()}@qq.com"
        raise ValueError(self.name)

    def quote(self, parent_from: str, parent_subject: str, parent_text: str) -> str:
        """The quoted history the client puts below a reply."""
        quoted = "\n".join(f"> {line}" for line in parent_text.splitlines())
        if self.name == "thunderbird":
            return f"在 2026/11/23 10:05, {parent_from} 写道:\n{quoted}"
        if self.name == "apple-mail":
            return f"> 2026年11月23日 10:05，{parent_from} 写道：\n> \n{quoted}"
        if self.name == "coremail":
            return f"在 2026-11-23 10:05:00，\"{parent_from}\" 写道：\n{quoted}"
        if self.name == "mutt":
            return f"On Mon, Nov 23, 2026 at 10:05:00AM +0800, {parent_from} wrote:\n{quoted}"
        if self.name == "outlook-zh":
            return (f"________________________________\n发件人: {parent_from}\n"
                    f"发送时间: 2026年11月23日 10:05\n收件人: {GATEWAY}\n主题: {parent_subject}\n\n"
                    f"{parent_text}")
        # Foxmail and QQ Mail share the block (QQ Mail writes it in HTML, &nbsp; around 原始邮件).
        return (f"------------------ 原始邮件 ------------------\n发件人: \"{parent_from}\";\n"
                f"发送时间: 2026年11月23日(星期一) 上午10:05\n收件人: \"{GATEWAY}\";\n"
                f"主题: {parent_subject}\n\n{parent_text}")


CLIENTS: dict[str, Client] = {c.name: c for c in (
    Client("thunderbird", "Re: ", "utf-8", (
        ("User-Agent", "Mozilla Thunderbird"), ("Content-Language", "zh-CN"))),
    Client("apple-mail", "回复：", "utf-8", (("X-Mailer", "iPhone Mail (22B83)"),)),
    Client("coremail", "回复:", "gbk", (
        ("X-Mailer", "Coremail Webmail Server Version XT5.0.14 build 20230109(dcb5de15)"),
        ("X-Coremail-Locale", "zh_CN"), ("X-CM-TRANSID", "AQAAf8Axx2Zb4AdlmBAAAA--.1234S2"))),
    Client("mutt", "Re: ", "utf-8", (("User-Agent", "Mutt/2.2.12 (2023-09-09)"),)),
    Client("outlook-zh", "回复: ", "gb2312", (
        ("Thread-Topic", "notice"), ("Thread-Index", "AQHbXq3vJm1a2B3C4D5E6F7G8H9I0J=="),
        ("Content-Language", "zh-CN"), ("X-MS-Has-Attach", ""),
        ("X-MS-TNEF-Correlator", "")), html=True),
    Client("foxmail", "回复：", "gb18030", (("X-Mailer", "Foxmail 7.2.25.228[cn]"),)),
    Client("qq-mail", "回复：", "gb18030", (
        ("X-QQ-mid", "xmsezb2-0t1732867200t1a2b3c4d"), ("X-QQ-SSF", "00000000000000F0"),
        ("X-Mailer", "QQMail 2.x")), html=True),
)}


def client_reply(client: Client, body: str, *, sender: tuple[str, str], subject: str,
                 parent_id: str | None = None, parent_from: str = "信息交流网关",
                 parent_text: str = "", to=(GATEWAY,), cc=(), n: int = 1,
                 message_id: str | None = None, headers=()) -> bytes:
    """A reply as `client` writes it: its Message-ID, subject prefix, quoting and fields."""
    text = f"{body}\n\n{client.quote(parent_from, subject, parent_text)}" if parent_text else body
    if client.html:
        html = "<html><body>" + "<br>\n".join(
            line.replace(" ", "&nbsp;") if "原始邮件" in line else line
            for line in text.splitlines()) + "</body></html>"
        message = MIMEMultipart("alternative")
        message.attach(MIMEText(text, "plain", client.charset))
        message.attach(MIMEText(html, "html", client.charset))
    else:
        message = MIMEText(text, "plain", client.charset)
    message["From"] = formataddr((str(Header(sender[0], client.charset)), sender[1]))
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = Header(client.reply_prefix + subject if parent_id else subject,
                                client.charset)
    message["Date"] = format_datetime(START)
    message["Message-ID"] = f"<{message_id or client.message_id(n, sender[1])}>"
    if parent_id:
        message["In-Reply-To"] = parent_id
        message["References"] = parent_id
    for name, value in (*client.headers, *headers):
        message[name] = value
    return message.as_bytes()
