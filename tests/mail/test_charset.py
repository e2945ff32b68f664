"""The charset policy: labels to codecs, body bytes, RFC 2047 and raw 8-bit headers."""

from __future__ import annotations

import base64
from email.header import Header

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.mail.charset import codec_for, decode_bytes, decode_checked, decode_header, decode_raw

# A character outside GB2312 and GBK that only GB18030 has (CJK Extension B).
GB18030_ONLY = "𠀀"


def _b_word(label: str, data: bytes) -> str:
    return f"=?{label}?B?{base64.b64encode(data).decode()}?="


def _split_inside_char(label: str, text: str, codec: str) -> str:
    """Two B-words whose byte split falls inside the first multibyte character."""
    data = text.encode(codec)
    return f"{_b_word(label, data[:1])} {_b_word(label, data[1:])}"


@pytest.mark.parametrize(("label", "codec"), [
    ("gb2312", "gb18030"), ("GBK", "gb18030"), ("x-gbk", "gb18030"), ("cp936", "gb18030"),
    ("euc-cn", "gb18030"), ("hz-gb-2312", "hz"), ("big5", "big5hkscs"),
    ("ks_c_5601-1987", "cp949"), ("iso-8859-1", "cp1252-tolerant"),
    ("latin1", "cp1252-tolerant"), ("utf-8", "utf-8"), ('"UTF-8"', "utf-8"),
    ("x-unknown-charset", None), ("", None), (None, None), ("rot13", None),
])
def test_labels_map_to_the_policy_codec(label, codec):
    assert codec_for(label) == codec


@pytest.mark.parametrize(("data", "label", "expected"), [
    (("中文" + GB18030_ONLY).encode("gb18030"), "gb2312", "中文" + GB18030_ONLY),
    ("設備故障".encode("big5"), "big5", "設備故障"),
    ("香港".encode("big5hkscs"), "big5", "香港"),
    ("생산부".encode("cp949"), "ks_c_5601-1987", "생산부"),
    (b"caf\xe9 \x93quoted\x94 \x81", "iso-8859-1", "café “quoted” \x81"),
    ("中文".encode(), "x-unknown-charset", "中文"),
    ("中文".encode("gbk"), "x-unknown-charset", "中文"),
    ("中文".encode(), None, "中文"),
    ("中文".encode("gbk"), None, "中文"),
    ("中文".encode(), "us-ascii", "中文"),
    ("中文".encode(), "gb2312", "中文"),  # mislabelled UTF-8 that GB18030 rejects
])
def test_decode_bytes_follows_the_policy(data, label, expected):
    assert decode_bytes(data, label) == expected


def test_decode_bytes_never_raises_and_reports_trouble():
    text, problem = decode_checked(b"\xff\xfe\x80abc", "utf-8")
    assert "abc" in text
    assert problem == "undecodable charset utf-8"
    assert decode_checked("中文".encode("gbk"), "x-nonsense") == ("中文", "unknown charset x-nonsense")
    assert decode_checked(b"plain", "x-nonsense") == ("plain", None)


def test_decoded_text_never_holds_lone_surrogates():
    text = decode_bytes(b"\x00\xd8a\x00", "utf-16-le")  # a lone high surrogate in UTF-16
    text.encode("utf-8")


@pytest.mark.parametrize(("value", "expected"), [
    (_b_word("gb2312", ("设备" + GB18030_ONLY).encode("gb18030")), "设备" + GB18030_ONLY),
    (_split_inside_char("gbk", "【紧急】生产部", "gbk"), "【紧急】生产部"),
    (_split_inside_char("utf-8", "【紧急】生产部", "utf-8"), "【紧急】生产部"),
    (_b_word("big5", "設備故障通知".encode("big5")), "設備故障通知"),
    ("=?utf-8?Q?caf=C3=A9_au_lait?=", "café au lait"),
    ("=?gb2312?B?tPC4tA==?= =?gb2312?Q?:_[PATCH]?=", "答复: [PATCH]"),  # B-word then Q-word
    ("=?utf-8?B?5Lit?=\r\n =?utf-8?B?5paH?=", "中文"),  # folded between words
    ("Re: =?utf-8?B?5Lit5paH?= text", "Re: 中文 text"),
    ("=?utf-8?B?5Lit?= and =?utf-8?B?5paH?=", "中 and 文"),  # non-blank text stays
    ("=?utf-8*zh?B?5Lit5paH?=", "中文"),  # RFC 2231 language suffix
    ("=?x-unknown?B?5Lit5paH?=", "中文"),  # unknown label: guessed as UTF-8
    ("【紧急】生产部".encode().decode("ascii", "surrogateescape"), "【紧急】生产部"),
    ("【紧急】生产部".encode("gbk").decode("ascii", "surrogateescape"), "【紧急】生产部"),
    ("=?utf-8?B?!!not base64!!?=", "=?utf-8?B?!!not base64!!?="),  # malformed stays text
    ("=?utf-8?B?5Lit?", "=?utf-8?B?5Lit?"),  # unterminated
    ("a long\r\n\tfolded subject", "a long folded subject"),
    ("", ""),
    (None, ""),
])
def test_decode_header(value, expected):
    assert decode_header(value) == expected


def test_decode_header_reads_header_objects_of_a_stock_parser():
    raw = "中文".encode("gbk").decode("ascii", "surrogateescape")
    assert decode_header(Header(raw, charset="unknown-8bit")) == "中文"


def test_decode_raw_leaves_clean_text_alone():
    assert decode_raw("already text 中文") == "already text 中文"


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs", "Cc"))).map(str.strip),
       label=st.sampled_from(["utf-8", "gb18030"]))
def test_rfc2047_round_trips_through_decode_header(text, label):
    encoded = Header(text, charset=label).encode()
    assert decode_header(encoded) == text
