"""One SMTP transaction in two round trips, for servers that announce PIPELINING (RFC 2920).

MAIL, every RCPT and DATA go out in one write; their replies come back together; then the
message and its final dot. Without it a mail to three recipients waits for six replies one
after another: to a relay 30 ms away that is most of the time a mail takes, and on any link
each wait costs a pass of the event loop.

aiosmtplib reads one reply per command it sent, so for the length of the transaction the
connection's transport is handed to `_Replies`, which collects replies in order, and then
handed back. aiosmtplib still opens the connection, does STARTTLS and AUTH, and sends
RSET and QUIT. Everything that goes wrong is raised as aiosmtplib's own exceptions.
"""

from __future__ import annotations

import asyncio
from collections import deque

import aiosmtplib
from aiosmtplib import SMTPResponse, SMTPStatus

MAX_REPLY = 16_384  # a reply longer than this is no SMTP server's


class _Replies(asyncio.Protocol):
    """Stands in for aiosmtplib's protocol during one transaction: parses replies in order."""

    def __init__(self, owner: asyncio.Protocol):
        self._owner = owner  # aiosmtplib's protocol, told if the connection goes
        self._buffer = bytearray()
        self._lines: list[bytes] = []  # lines of a multi-line reply so far
        self._replies: deque[SMTPResponse] = deque()
        self._wanted = 0
        self._waiter: asyncio.Future[None] | None = None
        self.error: Exception | None = None
        self.paused = False

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\n")) != -1:
            line = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[:end + 1]
            self._take(line)
        if len(self._buffer) > MAX_REPLY:
            self._fail(aiosmtplib.SMTPResponseException(-1, "reply line too long"))
        self._wake()

    def _take(self, line: bytes) -> None:
        if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b"", b" ", b"-"):
            self._fail(aiosmtplib.SMTPResponseException(
                -1, f"malformed SMTP reply line: {line[:80]!r}"))
            return
        self._lines.append(line)
        if line[3:4] != b"-":
            message = "\n".join(part[4:].strip().decode("utf-8", "surrogateescape")
                                for part in self._lines)
            self._replies.append(SMTPResponse(int(line[:3]), message))
            self._lines = []

    def connection_lost(self, exc: Exception | None) -> None:
        lost = aiosmtplib.SMTPServerDisconnected("Connection lost")
        lost.__cause__ = exc
        self._fail(lost)
        self._owner.connection_lost(exc)  # so the client knows it is no longer connected

    def eof_received(self) -> bool:
        self._fail(aiosmtplib.SMTPServerDisconnected("Unexpected EOF received"))
        return False  # the transport closes itself

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False

    def _fail(self, error: Exception) -> None:
        self.error = self.error or error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done() and (
                self.error is not None or len(self._replies) >= self._wanted):
            self._waiter.set_result(None)

    async def read(self, count: int) -> list[SMTPResponse]:
        """The next `count` replies, waiting for them as long as the caller allows."""
        while len(self._replies) < count and self.error is None:
            self._wanted = count
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if self.error is not None:
            raise self.error
        return [self._replies.popleft() for _ in range(count)]

    @property
    def idle(self) -> bool:
        """Nothing received that no command asked for, and nothing left to write."""
        return not (self._buffer or self._lines or self._replies or self.paused)


async def send_pipelined(client: aiosmtplib.SMTP, commands: bytes, envelope_from: str,
                         recipients: tuple[str, ...], payload: bytes
                         ) -> list[aiosmtplib.SMTPRecipientRefused]:
    """MAIL+RCPT+DATA as `commands` (CRLF-ended lines), then `payload` (the stuffed message
    and its dot); the recipients refused. The connection is left ready for the next mail,
    or closed."""
    protocol = client.protocol
    transport = protocol.transport if protocol is not None else None
    if transport is None or transport.is_closing():
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    replies = _Replies(protocol)
    transport.set_protocol(replies)
    try:
        transport.write(commands)
        *envelope, data = await replies.read(len(recipients) + 2)
        refused = refused_recipients(envelope, recipients)
        if data.code == SMTPStatus.start_input and (refused is None or
                                                   len(refused) == len(recipients)):
            # The server took DATA although the envelope failed: an empty message ends it.
            transport.write(b".\r\n")
            await replies.read(1)
        raise_for_envelope(envelope, envelope_from, refused, recipients)
        if data.code != SMTPStatus.start_input:
            raise aiosmtplib.SMTPDataError(data.code, data.message)
        transport.write(payload)
        (sent,) = await replies.read(1)
        if sent.code != SMTPStatus.completed:
            raise aiosmtplib.SMTPDataError(sent.code, sent.message)
        return refused
    finally:
        if replies.error is None and replies.idle and not transport.is_closing():
            transport.set_protocol(protocol)
        else:  # lost, out of step or cut short: the connection cannot carry another mail
            client.close()


def refused_recipients(envelope: list[SMTPResponse], recipients: tuple[str, ...]
                       ) -> list[aiosmtplib.SMTPRecipientRefused] | None:
    """From the replies to MAIL and each RCPT: the refused recipients; None when MAIL itself
    was refused. (Shared with the transaction one reply at a time, transaction.py.)"""
    if envelope[0].code != SMTPStatus.completed:
        return None
    return [aiosmtplib.SMTPRecipientRefused(reply.code, reply.message, recipient)
            for recipient, reply in zip(recipients, envelope[1:], strict=True)
            if reply.code not in (SMTPStatus.completed, SMTPStatus.will_forward)]


def raise_for_envelope(envelope: list[SMTPResponse], envelope_from: str,
                       refused: list[aiosmtplib.SMTPRecipientRefused] | None,
                       recipients: tuple[str, ...]) -> None:
    """Raise as aiosmtplib would when MAIL, or every RCPT, was refused."""
    if refused is None:
        raise aiosmtplib.SMTPSenderRefused(envelope[0].code, envelope[0].message, envelope_from)
    if len(refused) == len(recipients):
        raise aiosmtplib.SMTPRecipientsRefused(refused)
