"""The mail-service sections of config.example.toml load, each with the login it documents."""

from __future__ import annotations

import re

import pytest
from paths import ROOT

from gateway.config import load_settings
from gateway.config_login import TokenSource

EXAMPLE = (ROOT / "config.example.toml").read_text(encoding="utf-8")
BLOCKS = dict(re.findall(r"^# === (.+?) ===\n((?:#.*\n)+?)#(?:\n| ===)", EXAMPLE, re.M))


def section_pair(name: str) -> str:
    lines = BLOCKS[name].splitlines()
    start = lines.index("# [mailbox]")
    return "\n".join(line.removeprefix("# ").removeprefix("#") for line in lines[start:]) + "\n"


@pytest.mark.parametrize("name, host, smtp_host, auth, source", [
    ("Microsoft 365 (Exchange Online), app-only token", "outlook.office365.com",
     "smtp.office365.com", "xoauth2", TokenSource.CLIENT_CREDENTIALS),
    ("Google Workspace, refresh token of the mailbox's user (scope https://mail.google.com/)",
     "imap.gmail.com", "smtp.gmail.com", "xoauth2", TokenSource.REFRESH_TOKEN),
    ("Tencent Exmail (腾讯企业邮箱): the client authorization code (客户端专用密码) as password",
     "imap.exmail.qq.com", "smtp.exmail.qq.com", "password", None),
    ("NetEase 163 enterprise mail (网易企业邮箱): IMAP ID before SELECT, or SELECT is refused",
     "imap.qiye.163.com", "smtp.qiye.163.com", "password", None),
    ("Aliyun mail (阿里企业邮箱)", "imap.qiye.aliyun.com", "smtp.qiye.aliyun.com", "password",
     None),
])
def test_each_mail_service_section_loads(tmp_path, name, host, smtp_host, auth, source):
    config = tmp_path / "config.toml"
    config.write_text(section_pair(name), encoding="utf-8")
    settings = load_settings(config)
    box, smtp = settings.mailbox, settings.smtp
    assert (box.kind, box.host, box.effective_port, box.tls) == ("imap", host, 993, "ssl")
    assert smtp.host == smtp_host and smtp.tls in ("ssl", "starttls")
    assert box.auth == smtp.auth == auth
    assert box.token_source is smtp.token_source is source


def test_netease_sends_imap_id():
    assert "send_id = true" in section_pair(
        "NetEase 163 enterprise mail (网易企业邮箱): IMAP ID before SELECT, or SELECT is refused")


def test_every_block_was_found():
    assert len(BLOCKS) == 5, list(BLOCKS)
