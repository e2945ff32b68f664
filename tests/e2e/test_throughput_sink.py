"""The throughput benchmark's SMTP sink: every mail taken and timed, pipelined or not."""

from __future__ import annotations

import importlib.util
import smtplib
import socket

import pytest
from paths import ROOT


@pytest.fixture(scope="module")
def throughput():
    spec = importlib.util.spec_from_file_location("throughput", ROOT / "bench" / "throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sink(throughput):
    clock = throughput.AckClock()
    server = throughput.Sink(clock)
    yield clock, server.port
    server.stop()


def _ack(n: int) -> bytes:
    """An acknowledgement as the gateway writes one: its Message-ID names it, In-Reply-To the
    mail it answers."""
    return (f"Message-ID: <rec-{n}.ack@gw.example>\r\nIn-Reply-To: <mail-{n}@sender.example>\r\n"
            f"Subject: ack\r\n\r\nline\r\n..a dot-stuffed line\r\n").encode()


def test_a_client_waiting_for_each_reply_gets_every_mail_through(sink):
    clock, port = sink
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        assert client.ehlo()[0] == 250
        assert client.has_extn("pipelining") and client.has_extn("8bitmime")
        for n in range(3):
            client.sendmail("gw@gw.example", ["a@sender.example"], _ack(n))
        client.sendmail("gw@gw.example", ["b@corp.example"], b"Subject: notice\r\n\r\nhi\r\n")
    assert clock.wait([f"mail-{n}@sender.example" for n in range(3)], timeout=5)
    assert clock.total == 4


def test_pipelined_commands_are_answered_together_and_split_data_is_joined(sink):
    clock, port = sink
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        reader = conn.makefile("rb")
        assert reader.readline().startswith(b"220")
        conn.sendall(b"EHLO client\r\nMAIL FROM:<gw@gw.example>\r\nRCPT TO:<a@x.example>\r\n"
                     b"RCPT TO:<b@x.example>\r\nDATA\r\n")
        lines = [reader.readline() for _ in range(9)]  # EHLO: five lines
        assert lines[5:] == [b"250 OK\r\n"] * 3 + [b"354 End data with <CR><LF>.<CR><LF>\r\n"]
        message = _ack(7) + b".\r\n"
        cut = len(message) - 4  # the end of data arrives in two pieces
        conn.sendall(message[:cut])
        conn.sendall(message[cut:] + b"MAIL FROM:<>\r\nRCPT TO:<a@x.example>\r\nDATA\r\n")
        assert [reader.readline() for _ in range(4)] == [
            b"250 2.0.0 OK\r\n", b"250 OK\r\n", b"250 OK\r\n",
            b"354 End data with <CR><LF>.<CR><LF>\r\n"]
        conn.sendall(b".\r\nQUIT\r\n")  # an empty message, then goodbye
        assert reader.readline() == b"250 2.0.0 OK\r\n"
        assert reader.readline().startswith(b"221")
    assert clock.wait(["mail-7@sender.example"], timeout=5)
    assert clock.total == 2
