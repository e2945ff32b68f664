"""The outbox's pure decisions: how long to wait, and which failures are final."""

from __future__ import annotations

import random

import aiosmtplib
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import SmtpPermanentError, SmtpTemporaryError
from gateway.outbox.sender import _mail_options, backoff, classify


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=2**32))
def test_backoff_grows_and_stays_under_the_ceiling(attempts, seed):
    rng = random.Random(seed)
    delay = backoff(attempts, 30, 3600, rng).total_seconds()
    assert 30 * 0.8 <= delay <= 3600 * 1.2
    expected = min(3600, 30 * 2 ** (attempts - 1))
    assert expected * 0.8 <= delay <= expected * 1.2


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (aiosmtplib.SMTPResponseException(451, "try later"), SmtpTemporaryError),
        (aiosmtplib.SMTPResponseException(550, "no such user"), SmtpPermanentError),
        (aiosmtplib.SMTPDataError(554, "rejected"), SmtpPermanentError),
        (aiosmtplib.SMTPSenderRefused(421, "closing", "gw@x"), SmtpTemporaryError),
        (aiosmtplib.SMTPAuthenticationError(535, "bad credentials"), SmtpTemporaryError),
        (aiosmtplib.SMTPConnectError("refused"), SmtpTemporaryError),
        (aiosmtplib.SMTPServerDisconnected("gone"), SmtpTemporaryError),
        (ConnectionRefusedError(111, "refused"), SmtpTemporaryError),
        (aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(550, "unknown", "a@x")]), SmtpPermanentError),
        (aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(550, "unknown", "a@x"),
             aiosmtplib.SMTPRecipientRefused(452, "full", "b@x")]), SmtpTemporaryError),
    ],
    ids=["451", "550", "554-data", "421-sender", "535-auth", "connect", "disconnect",
         "refused-socket", "all-recipients-5xx", "mixed-recipients"],
)
def test_failures_are_split_into_temporary_and_permanent(exc, kind):
    assert type(classify(exc)) is kind


def test_eight_bit_mail_is_announced():
    assert _mail_options(b"Subject: ok\r\n\r\nascii") == []
    assert _mail_options("正文".encode("gbk")) == ["BODY=8BITMIME"]
    assert _mail_options(b"a\r\nb\r\n", announce_size=True) == ["SIZE=6"]
