"""Every mail of the outside corpus through the whole pipeline: stored or quarantined, never a crash."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from paths import ROOT

from gateway.config import load_settings
from gateway.db.models import Mail
from gateway.model import FetchedMail
from gateway.runtime.assembly import Gateway
from gateway.usecases.services import Disposition

pytestmark = pytest.mark.corpus

CORPUS = Path(os.environ.get("GATEWAY_CORPUS_DIR", ROOT.parent / "shared" / "corpus"))


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and p.name not in {"MANIFEST.tsv", "README.md"})


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    if not corpus_files():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the corpus folder {CORPUS} is missing or empty")
        pytest.skip(f"corpus folder {CORPUS} not present")
    folder = tmp_path_factory.mktemp("corpus")
    settings = load_settings(None, overrides={
        "gateway": {"storage_dir": str(folder), "rules_dir": str(ROOT / "rules"),
                    "templates_dir": str(ROOT / "templates"), "domain": "gateway.corp.example",
                    "internal_domains": ["corp.example"]},
        "smtp": {"from": "gateway@corp.example"},
    })
    gateway = Gateway(settings)
    yield gateway
    gateway.close()


def test_every_corpus_mail_is_stored_or_quarantined(gateway):
    files = corpus_files()
    actions: Counter = Counter()
    for path in files:
        raw = path.read_bytes()
        result = gateway.ingest(FetchedMail(f"corpus:{path.name}", raw, len(raw)))
        actions[result.action] += 1
        if result.action is Disposition.QUARANTINED:
            assert result.reason, f"{path.name}: quarantined without a reason"
    assert sum(actions.values()) == len(files)
    assert actions[Disposition.CREATED] > len(files) // 2, actions
    with gateway.sessions() as session:
        stored = session.query(Mail).filter_by(direction="in").count()
        quarantined = session.query(Mail).filter(Mail.quarantine_reason.is_not(None)).count()
    # Every file is kept: as a record's mail, an ignored automatic mail, or in quarantine;
    # only byte-identical duplicates (same Message-ID) are not stored twice.
    assert stored == len(files) - actions[Disposition.DUPLICATE]
    assert quarantined == actions[Disposition.QUARANTINED]
