"""read_one: one raw mail from a stream, as `gateway ingest` gets it from an MTA."""

from __future__ import annotations

import hashlib
import io

import pytest

from gateway.errors import ParseError
from gateway.sources.pipe import read_one

MAIL = b"From: a@example.test\r\nSubject: hi\r\n\r\nFrom the start.\r\n"


def test_stream_is_read_as_raw_bytes_with_a_content_key():
    mail = read_one(io.BytesIO(MAIL))
    assert mail.raw == MAIL
    assert mail.size == len(MAIL)
    assert mail.key == "pipe:" + hashlib.sha256(MAIL).hexdigest()[:16]
    assert mail.uid is None and not mail.truncated


def test_mbox_envelope_line_is_stripped_and_body_from_lines_kept():
    piped = b"From sender@example.test  Mon Nov 23 09:30:00 2026\n" + MAIL
    mail = read_one(io.BytesIO(piped))
    assert mail.raw == MAIL
    assert mail.key == read_one(io.BytesIO(MAIL)).key


def test_a_from_header_is_not_an_envelope_line():
    assert read_one(io.BytesIO(MAIL)).raw.startswith(b"From: ")


def test_8bit_bytes_pass_through_untouched():
    raw = "Subject: 设备故障\r\n\r\n正文\r\n".encode("gb18030")
    assert read_one(io.BytesIO(raw)).raw == raw


@pytest.mark.parametrize("empty", [b"", b"\r\n", b"From x@y  Mon Nov 23 09:30:00 2026\n"])
def test_empty_input_is_a_parse_error(empty):
    with pytest.raises(ParseError):
        read_one(io.BytesIO(empty))
