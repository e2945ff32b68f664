"""Outlook .msg files: converted by mail-parser and msgconvert, then the normal pipeline."""

from __future__ import annotations

import json

import pytest
from clirun import gateway_cmd, write_config
from outlookmsg import msgconvert_missing, write_msg
from servers import require

from gateway.cli.main import main
from gateway.mail.parse import parse_mail
from gateway.sources import outlook
from gateway.sources.outlook import convert, undo_double_encoding

RECEIVED_HEADERS = (
    "Received: from mx.customer.example by mx.corp.example; Mon, 23 Nov 2026 09:12:05 +0800\r\n"
    "Date: Mon, 23 Nov 2026 09:12:00 +0800\r\n"
    "From: =?UTF-8?B?546L5bel?= <wang@customer.example>\r\n"
    "To: gateway@corp.example\r\n"
    "Subject: =?UTF-8?B?44CQ54m55oCl44CR6LSo6YeP6YOoLeWuouaIt+aKleiviQ==?=\r\n"
    "Message-ID: <outlook-received@customer.example>\r\n"
)


@pytest.fixture
def msgconvert():
    require(msgconvert_missing())


@pytest.fixture
def config(tmp_path, smtp_capture):
    return write_config(tmp_path, smtp_capture.port)


def test_a_saved_mail_without_its_headers_is_read_in_chinese(tmp_path, msgconvert):
    # Outlook keeps no transport headers for a mail written in it: msgconvert then puts the
    # Chinese subject in the headers as UTF-8 and encodes the body twice; convert undoes that.
    path = write_msg(tmp_path / "draft.msg", subject="【紧急】生产部-设备故障通知",
                     body="3号线注塑机今晨8:20突发液压故障, 已停机。", message_id="draft@corp.example")
    mail = parse_mail(convert(path))
    assert mail.subject == "【紧急】生产部-设备故障通知"
    assert mail.from_addr.addr == "wang@customer.example" and mail.from_addr.name == "王工"
    assert mail.message_id == "draft@corp.example"
    assert "3号线注塑机今晨8:20突发液压故障" in mail.text


def test_a_received_mail_keeps_its_original_headers(tmp_path, msgconvert):
    path = write_msg(tmp_path / "received.msg", subject="【特急】质量部-客户投诉",
                     body="包装破损严重。", transport_headers=RECEIVED_HEADERS)
    mail = parse_mail(convert(path))
    assert mail.subject == "【特急】质量部-客户投诉"
    assert mail.message_id == "outlook-received@customer.example"
    assert "包装破损严重" in mail.text


def test_ingest_of_a_msg_file_opens_a_record(tmp_path, config, smtp_capture, msgconvert):
    path = write_msg(tmp_path / "fault.msg", subject="【紧急】生产部-设备故障通知",
                     body="3号线注塑机突发液压故障, 已停机。", message_id="msg-1@customer.example")
    done = gateway_cmd("ingest", str(path), config=config)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("created ")
    assert done.stderr.decode() == ""  # mail-parser's notice about its backends stays out
    record_id = done.stdout.decode().split()[1]
    shown = json.loads(gateway_cmd("records", "show", record_id, "--json", config=config).stdout)
    assert (shown["urgency"], shown["department"], shown["title"]) == (
        "urgent", "生产部", "设备故障通知")
    assert "液压故障" in shown["summary"]
    assert len(smtp_capture.wait_for(2)) == 2  # acknowledgement and notification


def test_rules_test_reads_a_msg_file(tmp_path, config, msgconvert):
    path = write_msg(tmp_path / "m.msg", subject="【特急】质量部-客户投诉", body="包装破损。")
    done = gateway_cmd("rules", "test", str(path), "--json", config=config)
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert (report["urgency"], report["department"]) == ("critical", "质量部")


def test_an_ole_file_that_is_no_message_is_one_line(tmp_path, config, msgconvert):
    path = tmp_path / "sheet.msg"
    path.write_bytes(outlook.OLE_MAGIC + b"\0" * 504)
    done = gateway_cmd("ingest", str(path), config=config)
    assert done.returncode == 65
    assert done.stderr.decode().strip().splitlines() == [
        f"gateway: {path}: msgconvert could not read this Outlook file"]


def test_without_msgconvert_the_error_names_the_debian_package(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(outlook.shutil, "which", lambda name: None)
    monkeypatch.setattr(outlook.importlib.util, "find_spec", lambda name: None)
    path = tmp_path / "fault.msg"
    path.write_bytes(outlook.OLE_MAGIC + b"\0" * 504)
    config = write_config(tmp_path, 25)
    assert main(["--config", str(config), "ingest", str(path)]) == 69
    assert capsys.readouterr().err.strip().splitlines() == [
        "gateway: Outlook .msg files need the msgconvert program: "
        "apt-get install libemail-outlook-message-perl"]


def test_double_encoding_is_undone_only_where_it_happened():
    right = "Subject: 设备故障\r\n\r\n液压故障 Müller\r\n".encode()
    head, body = right.split(b"\r\n\r\n")
    # What msgconvert writes: UTF-8 headers, and the body's UTF-8 bytes encoded once more.
    twice = head + b"\r\n\r\n" + body.decode("latin-1").encode("utf-8")
    assert undo_double_encoding(twice) == right
    assert undo_double_encoding(right) == right  # its body is no Latin-1 text: kept
    ascii_head = "Subject: =?UTF-8?B?6K6+5aSH?=\n\n液压故障\n".encode()
    assert undo_double_encoding(ascii_head) == ascii_head
    latin_head = "Subject: Müller\n\nMüller\n".encode("latin-1")
    assert undo_double_encoding(latin_head) == latin_head
