"""parse_mail over every mail of the outside corpus: never a crash, and what the manifest promises."""

from __future__ import annotations

import os
import re
import time

import pytest
from paths import ROOT

from gateway.errors import ParseError
from gateway.mail.parse import parse_mail
from gateway.model import AutoKind, InboundMail

pytestmark = pytest.mark.corpus

CORPUS = ROOT.parent / "shared" / "corpus"
MANIFEST = CORPUS / "MANIFEST.tsv"

# Files that are not a mail at all by design; ParseError is the right answer for them.
NOT_MAIL = {"enmime/testdata__mail__erroneous.raw"}

# Manifest "exercises" text → what the parsed mail must show.
BOUNCE_WORDS = re.compile(r"^multipart report:|dsn", re.IGNORECASE)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
CJK_CHARSET_WORDS = re.compile(r"gb2312|gb18030|gbk|big ?5|japanese|ks c 5601", re.IGNORECASE)
# Subject words the manifest quotes for the Chinese client mails.
SUBJECT_WORDS = ("回复", "答复")


def _corpus_files() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*")
                  if p.is_file() and p.name not in {"MANIFEST.tsv", "README.md"}
                  and not p.name.startswith("."))


def _manifest() -> dict[str, str]:
    if not MANIFEST.is_file():
        return {}
    rows = (line.split("\t") for line in MANIFEST.read_text(encoding="utf-8").splitlines()[1:])
    return {row[0]: row[-1] for row in rows if len(row) >= 6}


FILES = _corpus_files()
EXERCISES = _manifest()

if not FILES:
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true but the corpus folder {CORPUS} is missing or empty")
    pytest.skip(f"corpus folder {CORPUS} not present", allow_module_level=True)


def _parse(name: str) -> InboundMail | None:
    raw = (CORPUS / name).read_bytes()
    try:
        return parse_mail(raw)
    except ParseError:
        assert name in NOT_MAIL, f"{name}: ParseError for a file the manifest calls a mail"
        return None


@pytest.mark.parametrize("name", FILES)
def test_corpus_mail_parses(name):
    parsed = _parse(name)
    if parsed is None:
        return
    assert isinstance(parsed, InboundMail)
    assert isinstance(parsed.subject, str)
    for text in (parsed.subject, parsed.text, parsed.html or "", parsed.message_id,
                 parsed.from_addr.name, parsed.from_addr.addr,
                 *(a.filename for a in parsed.attachments), *parsed.defects):
        text.encode("utf-8")  # no lone surrogates: the database must be able to store it
    assert parsed.date is None or parsed.date.tzinfo is not None
    exercises = EXERCISES.get(name, "")
    if BOUNCE_WORDS.search(exercises):
        assert parsed.auto is AutoKind.BOUNCE, parsed.auto_reason
    if CJK_CHARSET_WORDS.search(exercises):
        shown = parsed.subject + parsed.text + "".join(a.filename for a in parsed.attachments)
        assert CJK.search(shown), f"{name}: no CJK text read"
        assert "\ufffd" not in parsed.subject + parsed.text
    for word in SUBJECT_WORDS:
        if f"{word}:" in exercises or f"{word}：" in exercises or f"{word}: subject" in exercises:
            assert word in parsed.subject


def test_corpus_summary(capsys):
    parsed = with_defects = refused = 0
    started = time.perf_counter()
    for name in FILES:
        mail = _parse(name)
        if mail is None:
            refused += 1
            continue
        parsed += 1
        with_defects += bool(mail.defects)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\ncorpus: {parsed} parsed ({with_defects} with defects), {refused} not mail; "
              f"mean {elapsed / len(FILES) * 1e6:.0f} µs per file")
    assert parsed > len(FILES) // 2
