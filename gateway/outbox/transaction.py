"""One SMTP transaction (MAIL, RCPT per recipient, DATA) on a connection aiosmtplib opened.

aiosmtplib's `mail`, `rcpt` and `data` parse each address again and pass the whole message
twice through regular expressions (line ends, then leading dots). The outbox holds messages
the renderer wrote: CRLF throughout, addresses already checked. So the transaction here sends
the same commands through `SMTP.execute_command`, and the message, dot-stuffed with two
byte replacements, through the connection's protocol. One deadline covers the whole
transaction, where aiosmtplib arms and cancels a timer for every reply. Together: a third
of the sender's CPU per mail. Replies are checked and errors raised exactly as aiosmtplib's
own methods do, so the sender classifies them the same way.
"""

from __future__ import annotations

import asyncio

import aiosmtplib
from aiosmtplib import SMTPStatus
from aiosmtplib.protocol import COMMAND_INJECTION_REGEX, normalize_message_line_endings

from gateway.outbox.pipelining import raise_for_envelope, refused_recipients, send_pipelined


def mail_from(address: str, options: list[str]) -> tuple[bytes, ...]:
    return (b"MAIL", _path(b"FROM:", address), *(option.encode("ascii") for option in options))


def rcpt_to(address: str) -> tuple[bytes, ...]:
    return (b"RCPT", _path(b"TO:", address))


def _path(prefix: bytes, address: str) -> bytes:
    path = prefix + b"<" + address.encode("ascii") + b">"
    if COMMAND_INJECTION_REGEX.search(path):  # aiosmtplib's own check: no command smuggled in
        raise ValueError("Command arg contains a prohibited control character")
    return path


async def send_one(client: aiosmtplib.SMTP, envelope_from: str, options: list[str],
                   recipients: tuple[str, ...], raw: bytes) -> list[aiosmtplib.SMTPRecipientRefused]:
    """MAIL, RCPT and DATA; the recipients refused (the mail went to the others).

    Raises SMTPRecipientsRefused when no recipient was accepted, SMTPTimeoutError when the
    transaction outlasts its deadline (the connection's timeout for each reply it waits
    for), and aiosmtplib's exception for any other refusal or a lost connection.
    """
    budget = client.timeout * (len(recipients) + 3) if client.timeout else None
    try:
        async with asyncio.timeout(budget):
            if client.supports_extension("pipelining"):
                commands = b"".join(b" ".join(command) + b"\r\n" for command in (
                    mail_from(envelope_from, options), *map(rcpt_to, recipients), (b"DATA",)))
                return await send_pipelined(client, commands, envelope_from, recipients,
                                            data_payload(raw))
            return await _transaction(client, envelope_from, options, recipients, raw)
    except TimeoutError:
        client.close()  # as aiosmtplib does: a half-read reply must not meet the next command
        raise aiosmtplib.SMTPTimeoutError(
            f"the SMTP transaction took longer than {budget:g}s") from None


async def _transaction(client: aiosmtplib.SMTP, envelope_from: str, options: list[str],
                       recipients: tuple[str, ...], raw: bytes
                       ) -> list[aiosmtplib.SMTPRecipientRefused]:
    envelope = [await client.execute_command(*mail_from(envelope_from, options), timeout=None)]
    if envelope[0].code != SMTPStatus.completed:
        raise_for_envelope(envelope, envelope_from, None, recipients)
    for recipient in recipients:
        envelope.append(await client.execute_command(*rcpt_to(recipient), timeout=None))
    refused = refused_recipients(envelope, recipients)
    raise_for_envelope(envelope, envelope_from, refused, recipients)
    await _data(client, raw)
    return refused


async def _data(client: aiosmtplib.SMTP, raw: bytes) -> None:
    response = await client.execute_command(b"DATA", timeout=None)
    if response.code != SMTPStatus.start_input:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    try:
        # read_response marks the reply as awaited before the loop can run again, so the
        # server's answer to the message cannot arrive unnoticed in between.
        protocol.write(data_payload(raw))
        response = await protocol.read_response(timeout=None)
    except aiosmtplib.SMTPServerDisconnected:
        client.close()
        raise
    if response.code != SMTPStatus.completed:
        raise aiosmtplib.SMTPDataError(response.code, response.message)


def data_payload(raw: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends, leading dots doubled, ended by a dot.

    Rendered mail is CRLF already; anything else (a row written by an older version) is
    brought to CRLF first, as RFC 5321 requires.
    """
    ends = raw.count(b"\n")
    if raw.count(b"\r\n") != ends or raw.count(b"\r") != ends or not raw.endswith(b"\r\n"):
        raw = normalize_message_line_endings(raw)
    stuffed = raw.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed + b".\r\n"
