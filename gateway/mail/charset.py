"""The charset policy: which codec reads which label, and how header text becomes str."""

from __future__ import annotations

import binascii
import codecs
import re
from functools import lru_cache

# Labels that mail clients send, mapped to the codec that reads them best. Chinese clients
# label GBK and GB18030 text as gb2312, so every GB label reads as GB18030 (a superset);
# Big5 mail carries HKSCS characters; Korean Outlook says ks_c_5601-1987 for cp949.
_LATIN = "cp1252-tolerant"  # cp1252 whose five undefined bytes read as latin-1

CODEC_FOR_LABEL: dict[str, str] = {
    "gb2312": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "chinese": "gb18030",
    "gb18030": "gb18030",
    "hz-gb-2312": "hz",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_2",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    # Western labels are read as cp1252: senders say iso-8859-1 but type Windows quotes.
    "iso-8859-1": _LATIN,
    "iso8859-1": _LATIN,
    "iso_8859-1": _LATIN,
    "latin1": _LATIN,
    "latin-1": _LATIN,
    "l1": _LATIN,
    "windows-1252": _LATIN,
    "cp1252": _LATIN,
    "us-ascii": "ascii",
    "ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
}

# Order of guesses for bytes with no label, a label no codec knows, or raw 8-bit headers.
GUESSES: tuple[str, ...] = ("utf-8", "gb18030", _LATIN)

# Codecs that exist in Python but are not charsets a mail can be written in.
_NOT_MAIL_CODECS = frozenset({
    "raw_unicode_escape", "unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem",
})

# Codecs whose text is 7-bit, so ASCII bytes still need them (ISO-2022-JP escapes, HZ "~{").
_SEVEN_BIT = ("iso2022", "hz", "utf_7", "utf-7")

_SURROGATE = re.compile("[\ud800-\udfff]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*")
_FOLD = re.compile(r"\r?\n[ \t]+")


def _cp1252_gap(exc: UnicodeError) -> tuple[str, int]:
    # cp1252 leaves five bytes undefined; read them as latin-1 so cp1252 never fails.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start:exc.end].decode("latin-1"), exc.end


codecs.register_error("gateway-cp1252-gap", _cp1252_gap)


@lru_cache(maxsize=256)
def codec_for(label: str | None) -> str | None:
    """The codec to read `label` with; None when no label was given or no codec knows it."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    if key in CODEC_FOR_LABEL:
        return CODEC_FOR_LABEL[key]
    try:
        info = codecs.lookup(key)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_MAIL_CODECS:
        return None
    return CODEC_FOR_LABEL.get(info.name, info.name)


def _reads_as_gb2312(text: str) -> bool:
    wide = [c for c in text if ord(c) > 0x7F]
    common = sum(1 for c in wide if len(c.encode("gb2312", "ignore")) == 2)
    return common >= 0.8 * len(wide)


def _decode_strict(data: bytes, codec: str) -> str | None:
    try:
        if codec == _LATIN:
            text = data.decode("cp1252", "gateway-cp1252-gap")
        else:
            text = data.decode(codec)
    except (UnicodeError, LookupError):
        return None
    # Exotic codecs (utf-7, utf-16) can emit lone surrogates, which no database stores.
    return None if _SURROGATE.search(text) else text


def _guess(data: bytes) -> str:
    for codec in GUESSES:
        text = _decode_strict(data, codec)
        if text is not None:
            if codec == "gb18030" and not _reads_as_gb2312(text):
                # Big5 bytes also decode as GB18030, but into rare characters outside GB2312.
                big5 = _decode_strict(data, "big5hkscs")
                if big5 is not None:
                    return big5
            return text
    return data.decode("latin-1")  # unreachable: cp1252-tolerant reads any byte


def decode_checked(data: bytes, label: str | None) -> tuple[str, str | None]:
    """Decode body or header bytes; the second item names a problem worth a defect, else None."""
    codec = codec_for(label)
    if data.isascii() and not (codec or "").startswith(_SEVEN_BIT):
        return data.decode("ascii"), None
    if codec is None:
        return _guess(data), (f"unknown charset {label}" if label else None)
    if codec == "ascii":
        # 8-bit bytes under a us-ascii label: the sender forgot the label, so guess.
        return _guess(data), None
    if codec == "gb18030":
        # Web forms and scripts label UTF-8 as gb2312; GB18030 would read it as mojibake
        # without an error, while real GBK text is almost never valid UTF-8.
        text = _decode_strict(data, "utf-8")
        if text is not None:
            return text, None
    text = _decode_strict(data, codec)
    if text is not None:
        return text, None
    if codec != "utf-8":
        text = _decode_strict(data, "utf-8")  # mislabelled UTF-8 is the common case
        if text is not None:
            return text, None
    text = data.decode(codec, "replace")
    if _SURROGATE.search(text):
        text = _guess(data)
    return text, f"undecodable charset {label}"


def decode_bytes(data: bytes, label: str | None) -> str:
    """Decode bytes labelled `label` by the charset policy; never raises."""
    return decode_checked(data, label)[0]


def decode_raw(value: str) -> str:
    """Text whose 8-bit bytes the parser kept as surrogate escapes, read as UTF-8 or GB18030."""
    if value.isascii() or not _SURROGATE.search(value):
        return value
    return _guess(value.encode("utf-8", "surrogateescape"))


def unfold(value: str) -> str:
    """A header value with each fold (line break and its indentation) turned into one space."""
    return _FOLD.sub(" ", value).replace("\r", "").replace("\n", "").strip()


def _word_bytes(encoding: str, text: str) -> bytes | None:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        return None
    try:
        if encoding in "qQ":
            return binascii.a2b_qp(raw, header=True)
        raw = raw.rstrip(b"=")
        if not _BASE64.fullmatch(raw):
            return None
        return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        return None


def decode_header(value: object) -> str:
    """Decode a header value: RFC 2047 encoded-words, raw 8-bit bytes, folding; never raises."""
    if value is None:
        return ""
    if not isinstance(value, str):  # an email.header.Header from a stock compat32 parser
        value = _header_object_text(value)
    value = unfold(value)
    if "=?" not in value:
        return decode_raw(value)
    out: list[str] = []
    # Adjacent words of one charset are joined as bytes before decoding, because clients
    # split a long subject in the middle of a multibyte character.
    pending = bytearray()
    pending_key: str | None = None  # the codec (or unknown label) of the words in `pending`
    pending_label = ""
    pos = 0

    def flush() -> None:
        nonlocal pending_key
        if pending_key is not None:
            out.append(decode_bytes(bytes(pending), pending_label))
            pending.clear()
            pending_key = None

    for match in _ENCODED_WORD.finditer(value):
        between = value[pos:match.start()]
        pos = match.end()
        label = match.group(1).partition("*")[0].lower()  # drop an RFC 2231 language suffix
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:  # malformed: keep the word as it was written
            flush()
            out.append(decode_raw(between + match.group(0)))
            continue
        key = codec_for(label) or label
        # Whitespace between adjacent encoded-words is not part of the text (RFC 2047 6.2).
        gap = "" if pending_key is not None and not between.strip() else between
        if pending_key is not None and (gap or key != pending_key):
            flush()
        if gap:
            out.append(decode_raw(gap))
        if pending_key is None:
            pending_key, pending_label = key, label
        pending.extend(data)
    flush()
    out.append(decode_raw(value[pos:]))
    return "".join(out)


def _header_object_text(header: object) -> str:
    from email.header import decode_header as split_header

    try:
        chunks = split_header(header)
    except (ValueError, TypeError, LookupError, binascii.Error):
        return str(header)
    parts = []
    for data, label in chunks:
        if isinstance(data, str):
            parts.append(data)
        elif label in (None, "unknown-8bit"):
            parts.append(_guess(data))
        else:
            parts.append(decode_bytes(data, label))
    return "".join(parts)
