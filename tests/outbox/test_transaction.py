"""The SMTP transaction the sender runs: DATA's bytes, and refusals, against a real aiosmtpd."""

from __future__ import annotations

import asyncio

import aiosmtplib
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.outbox.transaction import data_payload, mail_from, send_one
from tests.support.servers import SmtpCapture


def _unstuff(payload: bytes) -> bytes:
    """What a receiving server makes of DATA's bytes (RFC 5321 §4.5.2)."""
    assert payload.endswith(b"\r\n.\r\n")
    lines = payload[:-3].split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


@pytest.mark.parametrize(("raw", "payload"), [
    (b"a\r\nb\r\n", b"a\r\nb\r\n.\r\n"),
    (b"a\r\nb", b"a\r\nb\r\n.\r\n"),
    (b".a\r\n", b"..a\r\n.\r\n"),
    (b"a\r\n.\r\nb\r\n", b"a\r\n..\r\nb\r\n.\r\n"),
    (b"a\r\n..b\r\n", b"a\r\n...b\r\n.\r\n"),
    (b"a\nb\n", b"a\r\nb\r\n.\r\n"),  # not rendered here: brought to CRLF first
    (b"a\rb\r\n.c", b"a\r\nb\r\n..c\r\n.\r\n"),
    (b"a.\r\nb . c\r\n", b"a.\r\nb . c\r\n.\r\n"),
])
def test_data_payload(raw: bytes, payload: bytes) -> None:
    assert data_payload(raw) == payload


@given(st.lists(st.sampled_from([b"a", b".", b"..", b"\r\n", b"\n", b"\r", b" ", b"\xe4"]),
                max_size=40).map(b"".join))
def test_data_payload_is_read_back_as_the_message(raw: bytes) -> None:
    payload = data_payload(raw)
    normal = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if not normal.endswith(b"\r\n"):
        normal += b"\r\n"
    assert _unstuff(payload) == normal
    body = payload[:-5]
    assert b"\r\n.\r\n" not in body and not body.startswith(b".\r\n")  # no early end


def test_mail_from_carries_the_options() -> None:
    assert mail_from("gw@corp.example", ["SIZE=12", "BODY=8BITMIME"]) == (
        b"MAIL", b"FROM:<gw@corp.example>", b"SIZE=12", b"BODY=8BITMIME")
    assert mail_from("", []) == (b"MAIL", b"FROM:<>")


@pytest.fixture(params=["pipelining", "one reply at a time"])
def smtp(request):
    capture = SmtpCapture()
    capture.pipelining = request.param == "pipelining"
    with capture:
        yield capture


def _send(smtp: SmtpCapture, recipients: tuple[str, ...], raw: bytes):
    async def run():
        client = aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, use_tls=False,
                                 start_tls=False, timeout=10)
        await client.connect()
        await client.ehlo()
        try:
            refused = await send_one(client, "gw@corp.example", [f"SIZE={len(raw)}"],
                                     recipients, raw)
            # The connection is left ready for the next mail.
            await send_one(client, "gw@corp.example", [], recipients[-1:], b"Subject: 2\r\n\r\nx\r\n")
            return refused
        finally:
            if client.is_connected:
                await client.quit()

    return asyncio.run(run())


DOTTED = (b"Subject: =?utf-8?b?5rWL6K+V?=\r\nMessage-ID: <t1@corp.example>\r\n\r\n"
          b".leading dot\r\n.\r\n..two\r\nend\r\n")


def test_a_message_arrives_byte_for_byte(smtp: SmtpCapture) -> None:
    refused = _send(smtp, ("a@corp.example", "b@corp.example"), DOTTED)
    first, second = smtp.wait_for(2)
    assert refused == []
    assert first.raw == DOTTED
    assert first.rcpt_tos == ("a@corp.example", "b@corp.example")
    assert first.mail_from == "gw@corp.example"
    assert smtp.sizes[0] == len(DOTTED)
    assert second.raw == b"Subject: 2\r\n\r\nx\r\n"


def test_refused_recipients_are_returned_and_the_rest_get_the_mail(smtp: SmtpCapture) -> None:
    smtp.refused_recipients = {"gone@corp.example"}
    refused = _send(smtp, ("gone@corp.example", "a@corp.example"), DOTTED)
    first, _ = smtp.wait_for(2)
    assert [(r.recipient, r.code) for r in refused] == [("gone@corp.example", 550)]
    assert first.rcpt_tos == ("a@corp.example",)


def test_no_recipient_accepted_raises(smtp: SmtpCapture) -> None:
    smtp.refused_recipients = {"gone@corp.example", "left@corp.example"}
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as caught:
        _send(smtp, ("gone@corp.example", "left@corp.example"), DOTTED)
    assert {r.recipient for r in caught.value.recipients} == {"gone@corp.example",
                                                              "left@corp.example"}
    assert smtp.messages == []


@pytest.mark.parametrize("code", [451, 554])
def test_a_refused_message_raises_with_the_servers_code(smtp: SmtpCapture, code: int) -> None:
    smtp.respond_with(code, times=1)
    with pytest.raises(aiosmtplib.SMTPDataError) as caught:
        _send(smtp, ("a@corp.example",), DOTTED)
    assert caught.value.code == code
    assert smtp.refused == 1


def test_a_server_that_stops_answering_times_the_transaction_out() -> None:
    from aiosmtpd.controller import Controller

    from tests.support.servers import free_port

    class Stalling:
        async def handle_DATA(self, server, session, envelope) -> str:
            await asyncio.sleep(30)
            return "250 OK"

    controller = Controller(Stalling(), hostname="127.0.0.1", port=free_port())
    controller.start()

    async def run():
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=controller.port, use_tls=False,
                                 start_tls=False, timeout=0.2)
        await client.connect()
        await client.ehlo()
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(aiosmtplib.SMTPTimeoutError, match="longer than 0.8s"):
            await send_one(client, "gw@corp.example", [], ("a@corp.example",), DOTTED)
        # Four replies waited for (MAIL, RCPT, DATA, the message): 0.8 s in all.
        assert 0.7 < loop.time() - started < 5
        assert not client.is_connected  # closed: the late reply never meets the next mail

    try:
        asyncio.run(run())
    finally:
        controller.stop()


# -- PIPELINING against a scripted server: the replies real servers give that aiosmtpd does not

def _scripted(replies: dict[bytes, list[bytes]], *, hang_up_after: bytes | None = None):
    """A server answering each command word from `replies` (taken in turn), and the message
    with the "." entry; it announces PIPELINING and records every line it read.

    It holds back its replies to MAIL and RCPT until DATA arrives (RFC 2920 lets a server
    send grouped replies as a unit): a client that waits for each reply never gets one.
    """
    lines: list[bytes] = []
    held: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 scripted ESMTP\r\n")
        in_data = False
        while line := await reader.readline():
            lines.append(line)
            if in_data:
                if line != b".\r\n":
                    continue
                in_data, word = False, b"."
            else:
                word = line.split()[0].upper()
            if word == hang_up_after:
                writer.close()
                return
            if word == b"EHLO":
                writer.write(b"250-scripted\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n")
            elif word == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                writer.close()
                return
            else:
                reply = replies[word].pop(0)
                held.append(reply)
                if word in (b"MAIL", b"RCPT"):
                    continue
                writer.write(b"".join(held))
                held.clear()
                in_data = word == b"DATA" and reply.startswith(b"354")
            await writer.drain()

    return serve, lines


def _run_scripted(replies, recipients, *, hang_up_after=None):
    serve, lines = _scripted(replies, hang_up_after=hang_up_after)

    async def run():
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, use_tls=False,
                                 start_tls=False, timeout=5)
        await client.connect()
        await client.ehlo()
        assert client.supports_extension("pipelining")
        try:
            try:
                return await send_one(client, "gw@corp.example", [], recipients, DOTTED), client
            except aiosmtplib.SMTPException as exc:
                return exc, client
        finally:
            if client.is_connected:
                await client.rset()  # the connection still answers commands in step
                await client.quit()
            server.close()

    outcome, client = asyncio.run(run())
    return outcome, client, lines


def test_pipelined_commands_go_out_together_and_multi_line_replies_are_read_whole():
    replies = {b"MAIL": [b"250 ok\r\n"], b"RCPT": [b"250-accepted\r\n250 for relay\r\n"] * 2,
               b"DATA": [b"354 go ahead\r\n"], b".": [b"250-queued\r\n250 as 4F2A\r\n"],
               b"RSET": [b"250 ok\r\n"]}
    refused, _, lines = _run_scripted(replies, ("a@corp.example", "b@corp.example"))
    assert refused == []
    words = [line.split()[0] for line in lines if line[:1].isalpha()][1:]
    assert words[:4] == [b"MAIL", b"RCPT", b"RCPT", b"DATA"]


def test_a_refused_sender_is_raised_and_the_connection_stays_in_step():
    replies = {b"MAIL": [b"550 5.7.1 sender not allowed\r\n"], b"RCPT": [b"503 need MAIL\r\n"],
               b"DATA": [b"503 need RCPT\r\n"], b"RSET": [b"250 ok\r\n"]}
    error, _, _ = _run_scripted(replies, ("a@corp.example",))
    assert isinstance(error, aiosmtplib.SMTPSenderRefused) and error.code == 550


def test_data_accepted_without_recipients_is_ended_with_an_empty_message():
    # RFC 2920 §3.1: the client ends with a lone dot what such a server began.
    replies = {b"MAIL": [b"250 ok\r\n"], b"RCPT": [b"550 no such user\r\n"],
               b"DATA": [b"354 go ahead\r\n"], b".": [b"554 no valid recipients\r\n"],
               b"RSET": [b"250 ok\r\n"]}
    error, _, lines = _run_scripted(replies, ("gone@corp.example",))
    assert isinstance(error, aiosmtplib.SMTPRecipientsRefused)
    assert b".\r\n" in lines and b"end\r\n" not in lines  # the message itself never went


def test_a_server_hanging_up_mid_transaction_leaves_the_client_disconnected():
    replies = {b"MAIL": [b"250 ok\r\n"], b"RCPT": [b"250 ok\r\n"], b"DATA": [b"354 go\r\n"]}
    error, client, _ = _run_scripted(replies, ("a@corp.example",), hang_up_after=b".")
    assert isinstance(error, aiosmtplib.SMTPServerDisconnected)
    assert not client.is_connected
