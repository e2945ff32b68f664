"""ImapSource against a real Dovecot: UIDs, checkpoints, filing after commit, IDLE and polling."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from gateway.errors import ConfigError, MailboxError
from gateway.model import Checkpoint, Settlement
from gateway.sources.imap import ImapSource
from gateway.sources.imap_protocol import compact_uid_set
from gateway.sources.imap_settings import ImapSettings

SEEN = b"\\Seen"


def make_mail(n: int, body: bytes = b"Hello.\r\n") -> bytes:
    return (
        f"From: sender{n}@example.test\r\n"
        f"To: gateway@example.test\r\n"
        f"Subject: test mail {n}\r\n"
        f"Message-ID: <{n}.{time.monotonic_ns()}@example.test>\r\n"
        "\r\n"
    ).encode() + body


class Store:
    """An in-memory checkpoint table shared by successive sources, as the database would be."""

    def __init__(self, point: Checkpoint | None = None):
        self.point = point
        self.saved: list[Checkpoint] = []

    def load(self) -> Checkpoint | None:
        return self.point

    def save(self, point: Checkpoint) -> None:
        self.point = point
        self.saved.append(point)


def settings_for(account, **overrides) -> ImapSettings:
    values = {"host": account.host, "port": account.port, "tls": "none",
              "user": account.user, "password": account.password, "timeout": 10.0}
    return ImapSettings(**(values | overrides))


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def make_source(imap_account, store):
    made: list[ImapSource] = []

    def make(clock=time.monotonic, sleep=time.sleep, **overrides) -> ImapSource:
        source = ImapSource(settings_for(imap_account, **overrides), store.load, store.save,
                            clock=clock, sleep=sleep)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


@pytest.fixture
def inspect(imap_account):
    """A second connection that looks at the mailbox the way a person would."""
    client = imap_account.connect()

    def uids_in(folder: str) -> list[int]:
        client.select_folder(folder, readonly=True)
        return sorted(client.search("ALL"))

    client.uids_in = uids_in
    yield client
    client.logout()


def processed_all(mails) -> list:
    return [(mail, Settlement.PROCESSED) for mail in mails]


# --- settings (no server) -----------------------------------------------------------------------

def test_settings_repr_masks_the_password():
    settings = ImapSettings("mail.example.test", 993, "ssl", "user@example.test", "hunter2")
    assert "hunter2" not in repr(settings)
    assert "password='***'" in repr(settings)


def test_settings_refuse_an_unknown_tls_mode_instead_of_falling_back_to_plaintext():
    with pytest.raises(ConfigError, match="tls"):
        ImapSettings("mail.example.test", 993, "SSL", "user", "pw")


def test_uid_sets_are_compacted_into_ranges():
    assert compact_uid_set([7, 1, 2, 3, 9, 10, 3]) == "1:3,7,9:10"


# --- against Dovecot ----------------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.parametrize("level", [logging.WARNING, logging.DEBUG])
def test_imaplib_traces_nothing_not_even_for_debug_logs(
        make_source, imap_append, monkeypatch, caplog, level, imap_account):
    from imapclient.imapclient import IMAPlibLoggerAdapter

    imap_append(make_mail(1, b"Traced body.\r\n"))  # the test's own connection, before
    made = []
    real_debug = IMAPlibLoggerAdapter.debug
    monkeypatch.setattr(IMAPlibLoggerAdapter, "debug",
                        lambda self, msg, *args, **kw: (made.append(msg),
                                                        real_debug(self, msg, *args, **kw)))
    with caplog.at_level(level):
        source = make_source()
        assert len(source.fetch()) == 1
        source.close()
    # The trace held each mail's bytes; formatting them for a logger that dropped them cost
    # the reader a fifth of its CPU.
    assert made == []
    assert not any(imap_account.password in r.getMessage() or "Traced body" in r.getMessage()
                   for r in caplog.records)


@pytest.mark.integration
def test_fetch_returns_appended_mails_byte_for_byte_without_marking_them_seen(
        make_source, imap_append, inspect, imap_account):
    raws = [make_mail(n) for n in range(3)]
    uids = [imap_append(raw) for raw in raws]
    source = make_source()

    mails = source.fetch()

    assert [m.raw for m in mails] == raws
    assert [m.uid for m in mails] == uids
    assert all(m.size == len(m.raw) and not m.truncated for m in mails)
    validity = inspect.folder_status("INBOX", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    assert [m.key for m in mails] == [f"imap:INBOX:{validity}:{uid}" for uid in uids]
    inspect.select_folder("INBOX", readonly=True)
    assert all(SEEN not in flags for flags in inspect.get_flags(uids).values())


@pytest.mark.integration
def test_settle_moves_mails_to_processed_and_saves_the_checkpoint(
        make_source, imap_append, inspect, store):
    uids = [imap_append(make_mail(n)) for n in range(3)]
    source = make_source()
    mails = source.fetch()

    source.settle(processed_all(mails))

    assert inspect.uids_in("INBOX") == []
    assert len(inspect.uids_in("Processed")) == 3
    assert store.saved == [Checkpoint(store.point.uidvalidity, max(uids))]
    assert source.fetch() == []


@pytest.mark.integration
def test_a_mail_is_handed_out_once_per_connection_even_before_settle(make_source, imap_append):
    imap_append(make_mail(1))
    source = make_source()
    assert len(source.fetch()) == 1
    assert source.fetch() == []
    newer = imap_append(make_mail(2))
    assert [m.uid for m in source.fetch()] == [newer]


@pytest.mark.integration
def test_fetch_respects_limit_oldest_first(make_source, imap_append):
    uids = [imap_append(make_mail(n)) for n in range(5)]
    source = make_source()
    batches = [[m.uid for m in source.fetch(limit=2)] for _ in range(4)]
    assert batches == [uids[:2], uids[2:4], uids[4:], []]


@pytest.mark.integration
def test_small_fetch_batches_return_the_same_mails(make_source, imap_append):
    raws = [make_mail(n) for n in range(5)]
    for raw in raws:
        imap_append(raw)
    assert [m.raw for m in make_source(batch=2).fetch()] == raws


@pytest.mark.integration
def test_new_source_resumes_after_the_checkpoint(make_source, imap_append, store):
    for n in range(2):
        imap_append(make_mail(n))
    first = make_source()
    first.settle(processed_all(first.fetch()))
    first.close()
    later = [imap_append(make_mail(n)) for n in range(2, 4)]

    second = make_source()

    mails = second.fetch()
    second.settle(processed_all(mails))

    assert [m.uid for m in mails] == later
    assert store.point.last_uid == later[-1]


@pytest.mark.integration
def test_committed_but_unfiled_mails_come_again_after_reconnect(
        make_source, imap_append, store, inspect):
    uids = [imap_append(make_mail(n)) for n in range(4)]
    validity = inspect.folder_status("INBOX", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    # A crash after the commit of the first three but before they were moved:
    store.point = Checkpoint(validity, uids[2])

    mails = make_source().fetch()

    assert [m.uid for m in mails] == uids


@pytest.mark.integration
def test_uidvalidity_change_starts_over_from_uid_1(
        make_source, imap_append, store, inspect, caplog):
    inspect.create_folder("Work")
    for n in range(3):
        imap_append(make_mail(n), folder="Work")
    first = make_source(folder="Work")
    first.settle(processed_all(first.fetch()))
    first.close()
    old = store.point
    assert old.last_uid == 3
    inspect.delete_folder("Work")
    inspect.create_folder("Work")
    fresh = [imap_append(make_mail(n), folder="Work") for n in range(10, 12)]

    second = make_source(folder="Work")
    with caplog.at_level(logging.WARNING, logger="gateway.sources.imap"):
        mails = second.fetch()
    second.settle(processed_all(mails))

    assert [m.uid for m in mails] == fresh == [1, 2]
    assert store.point.uidvalidity != old.uidvalidity
    assert store.point.last_uid == 2
    assert "UIDVALIDITY changed" in caplog.text


@pytest.mark.integration
def test_quarantined_mail_goes_to_the_quarantine_folder(make_source, imap_append, inspect):
    kept, odd = imap_append(make_mail(1)), imap_append(make_mail(2))
    source = make_source()
    first, second = source.fetch()

    source.settle([(first, Settlement.PROCESSED), (second, Settlement.QUARANTINED)])

    assert (first.uid, second.uid) == (kept, odd)
    assert inspect.uids_in("INBOX") == []
    assert len(inspect.uids_in("Processed")) == 1
    assert len(inspect.uids_in("Quarantine")) == 1


@pytest.mark.integration
def test_without_processed_folder_mails_are_flagged_and_skipped_afterwards(
        make_source, imap_append, inspect):
    uids = [imap_append(make_mail(n)) for n in range(2)]
    source = make_source(processed_folder=None)
    source.settle(processed_all(source.fetch()))
    source.close()

    inspect.select_folder("INBOX", readonly=True)
    flags = inspect.get_flags(uids)
    assert all({SEEN, b"$GatewayDone"} <= set(f) for f in flags.values())
    assert make_source(processed_folder=None).fetch() == []


@pytest.mark.integration
def test_move_falls_back_to_copy_and_uid_expunge_without_move(
        make_source, imap_append, inspect):
    for n in range(2):
        imap_append(make_mail(n))
    source = make_source()
    mails = source.fetch()
    # Dovecot offers MOVE; hide it from this one connection to take the older servers' path.
    client = source._client
    client._cached_capabilities = tuple(c for c in client.capabilities() if c != b"MOVE")

    source.settle(processed_all(mails))

    assert inspect.uids_in("INBOX") == []
    assert len(inspect.uids_in("Processed")) == 2


@pytest.mark.integration
def test_oversize_mail_comes_as_headers_only(make_source, imap_append):
    small = make_mail(1)
    big = make_mail(2, body=(b"y" * 98 + b"\r\n") * 60)
    imap_append(small)
    imap_append(big)

    mails = make_source(max_size=1000).fetch()

    assert [(m.raw, m.truncated) for m in mails[:1]] == [(small, False)]
    header_end = big.index(b"\r\n\r\n") + 4
    assert mails[1].truncated
    assert mails[1].raw == big[:header_end]
    assert mails[1].size == len(big)


@pytest.mark.integration
def test_idle_wakes_up_when_another_connection_appends(make_source, imap_account, record_property):
    source = make_source()
    assert source.fetch() == []
    appended_at: list[float] = []

    def deliver() -> None:
        time.sleep(0.3)
        imap_account.append(make_mail(1))
        appended_at.append(time.monotonic())

    thread = threading.Thread(target=deliver)
    thread.start()
    arrived = source.wait(10.0)
    woke_at = time.monotonic()
    thread.join()

    assert arrived
    latency = max(0.0, woke_at - appended_at[0])
    record_property("idle_latency_s", round(latency, 3))
    print(f"IDLE wake-up latency after APPEND: {latency * 1000:.0f} ms")
    assert len(source.fetch()) == 1


@pytest.mark.integration
def test_idle_returns_false_after_timeout_without_new_mail(make_source):
    source = make_source()
    started = time.monotonic()
    assert source.wait(0.5) is False
    assert 0.4 < time.monotonic() - started < 5


@pytest.mark.integration
def test_polling_mode_looks_again_only_every_poll_interval(make_source, imap_append):
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    source = make_source(use_idle=False, poll_interval=30.0, clock=lambda: now[0], sleep=sleep)
    assert source.fetch() == []

    waits = [source.wait(5.0) for _ in range(6)]
    imap_append(make_mail(1))

    assert waits == [False] * 5 + [True]
    assert slept == [5.0] * 6
    assert len(source.fetch()) == 1


@pytest.mark.integration
def test_dropped_connection_is_a_mailbox_error_then_reconnects(
        make_source, imap_account, dovecot):
    source = make_source()
    assert source.fetch() == []

    dovecot.restart()
    with pytest.raises(MailboxError):
        source.fetch()

    imap_account.append(make_mail(1))
    assert len(source.fetch()) == 1


@pytest.mark.integration
def test_server_going_away_during_idle_is_a_mailbox_error(make_source, dovecot):
    source = make_source()
    source.fetch()
    restarter = threading.Timer(0.3, dovecot.restart)
    restarter.start()
    started = time.monotonic()
    try:
        with pytest.raises(MailboxError):
            source.wait(10.0)
    finally:
        restarter.join()
    assert time.monotonic() - started < 5
    assert source.fetch() == []


@pytest.mark.integration
def test_wrong_password_is_a_mailbox_error_that_does_not_show_the_password(make_source):
    source = make_source(password="not-the-password")
    with pytest.raises(MailboxError) as caught:
        source.fetch()
    assert "not-the-password" not in str(caught.value)


@pytest.mark.integration
def test_starttls_is_required_when_configured_never_silently_skipped(make_source):
    # This Dovecot runs with ssl = no, so it does not offer STARTTLS.
    with pytest.raises(MailboxError, match="STARTTLS"):
        make_source(tls="starttls").fetch()


@pytest.mark.integration
def test_id_is_sent_before_select_when_asked(make_source, dovecot, imap_append):
    imap_append(make_mail(1))
    assert len(make_source(send_id=True).fetch()) == 1
    deadline = time.monotonic() + 5
    while "name=mail-gateway" not in dovecot.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "name=mail-gateway" in dovecot.log_text()
