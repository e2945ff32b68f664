"""Logins by XOAUTH2 against Dovecot's oauth2 passdb and an aiosmtpd taking AUTH XOAUTH2, both
asking a local provider about each token: refresh, revocation, expiry, scope, outage."""

from __future__ import annotations

import logging
import time

import pytest
from mailmaker import gbk_mail
from sqlalchemy import select

from gateway.credentials.token import xoauth2_forms
from gateway.db.models import Outbox
from gateway.errors import MailboxError
from gateway.runtime.assembly import Gateway

pytestmark = pytest.mark.integration


def make_gateway(settings, clock, **changes):
    """A gateway whose [mailbox] and [smtp] both take `changes`."""
    if changes:
        settings = settings.model_copy(update={
            "mailbox": settings.mailbox.model_copy(update=changes),
            "smtp": settings.smtp.model_copy(update=changes)})
    return Gateway(settings, clock=clock)


@pytest.fixture
def gateway(oauth_settings, clock):
    gateway = make_gateway(oauth_settings, clock)
    yield gateway
    gateway.close()


def inbox_uids(account, folder="INBOX") -> list[int]:
    with account.connect() as client:
        client.select_folder(folder, readonly=True)
        return client.search("ALL")


def outbox_states(gateway) -> list[str]:
    with gateway.sessions() as session:
        return [row.status for row in session.scalars(select(Outbox)).all()]


def run_once(gateway) -> int:
    source = gateway.make_source()
    try:
        return len(gateway.process_batch(source))
    finally:
        source.close()


def test_mail_in_and_out_by_xoauth2_with_client_credentials(
        gateway, oauth, oauth_account, xoauth2_smtp):
    oauth_account.append(gbk_mail())
    assert run_once(gateway) == 1
    assert inbox_uids(oauth_account) == [] and len(inbox_uids(oauth_account, "Processed")) == 1
    result = gateway.flush()
    assert result.sent and not result.retried
    assert xoauth2_smtp.wait_for(len(result.sent))
    assert oauth.requests.count("client_credentials") == 2  # one cache per login
    assert oauth.introspections >= 2  # Dovecot and the SMTP server each asked


def test_short_lived_tokens_are_refreshed_before_expiry(
        oauth_settings, clock, oauth, oauth_account, xoauth2_smtp):
    oauth.lifetime = 1.2  # refreshed at half-life: 0.6 s
    gateway = make_gateway(oauth_settings, clock)
    source = gateway.make_source()
    try:
        for _ in range(3):
            oauth_account.append(gbk_mail())
            assert len(gateway.process_batch(source)) == 1
            source.close()  # a new login each round, as after a dropped connection
            time.sleep(0.8)
        assert gateway.flush().sent
    finally:
        source.close()
        gateway.close()
    assert oauth.requests.count("client_credentials") >= 4  # 3 IMAP logins + SMTP
    assert xoauth2_smtp.xoauth2_refused == 0


def test_a_revoked_token_is_replaced_once_and_nothing_is_lost(
        gateway, oauth, oauth_account, xoauth2_smtp):
    oauth_account.append(gbk_mail())
    assert run_once(gateway) == 1  # the IMAP token is cached now
    oauth.revoke_all()  # the admin revoked the app's sessions
    oauth_account.append(gbk_mail(subject="【紧急】质量部-第二封"))
    assert run_once(gateway) == 1  # refused, one fresh token, in
    assert inbox_uids(oauth_account) == []
    assert gateway.flush().sent


def test_a_revoked_refresh_token_is_one_error_naming_the_setting_and_the_mail_waits(
        oauth_settings, clock, oauth, oauth_account, xoauth2_smtp, tmp_path):
    refresh = oauth.add_refresh_token(oauth_account.user)
    (tmp_path / "refresh").write_text(refresh + "\n")
    gateway = make_gateway(oauth_settings, clock, client_secret_env=None,
                           refresh_token_file=tmp_path / "refresh")
    oauth_account.append(gbk_mail())
    user = oauth.refresh_tokens.pop(refresh)  # revoked at the provider
    with pytest.raises(MailboxError, match=r"^mailbox\.refresh_token: .*invalid_grant"):
        run_once(gateway)
    assert len(inbox_uids(oauth_account)) == 1
    oauth.refresh_tokens[refresh] = user  # a new consent, say
    assert run_once(gateway) == 1
    assert oauth.requests.count("refresh_token") == 2
    gateway.close()


def test_a_token_that_expires_before_its_time_is_refused_then_replaced(
        oauth_settings, clock, oauth, oauth_account, xoauth2_smtp, monkeypatch):
    gateway = make_gateway(oauth_settings, clock)
    oauth_account.append(gbk_mail())
    assert run_once(gateway) == 1
    for issued in oauth.issued.values():  # the provider's clock ran ahead of ours
        issued.expires = time.monotonic() - 1
    oauth_account.append(gbk_mail(subject="【紧急】质量部-第二封"))
    assert run_once(gateway) == 1
    assert oauth.requests.count("client_credentials") == 2
    gateway.close()


def test_a_token_command_printing_an_expired_token_is_refused_and_the_mail_waits(
        oauth_settings, clock, oauth, oauth_account, xoauth2_smtp, tmp_path):
    oauth.app_user = oauth_account.user
    stale = "at-expired-long-ago"
    gateway = make_gateway(oauth_settings, clock, token_command=f"echo {stale}")
    oauth_account.append(gbk_mail())
    with pytest.raises(MailboxError, match=r"XOAUTH2 refused .* by token_command .*"
                                           r"AUTHENTICATIONFAILED"):
        run_once(gateway)
    assert len(inbox_uids(oauth_account)) == 1
    gateway.close()


def test_a_wrong_scope_is_refused_with_a_hint_and_nothing_is_lost(
        oauth_settings, clock, oauth, oauth_account, xoauth2_smtp):
    wrong = make_gateway(oauth_settings, clock, scope="https://graph.example.test/.default")
    oauth_account.append(gbk_mail())
    with pytest.raises(MailboxError, match=r"mailbox\.scope"):
        run_once(wrong)
    assert len(inbox_uids(oauth_account)) == 1
    wrong.close()
    right = make_gateway(oauth_settings, clock)
    assert run_once(right) == 1
    assert right.flush().sent
    right.close()


def test_smtp_refusing_the_token_keeps_mail_pending_never_dead(
        oauth_settings, clock, oauth, oauth_account, xoauth2_smtp):
    gateway = make_gateway(oauth_settings, clock)
    oauth_account.append(gbk_mail())
    assert run_once(gateway) == 1
    wrong = make_gateway(oauth_settings.model_copy(update={"smtp": oauth_settings.smtp.model_copy(
        update={"scope": "https://graph.example.test/.default", "max_attempts": 1})}), clock)
    result = wrong.flush()
    assert result.retried and not result.sent and not result.dead
    assert set(outbox_states(wrong)) == {"pending"}
    # Per connection tried: the cached token, then one fresh one.
    assert xoauth2_smtp.xoauth2_refused in (2, 4)
    clock.advance(hours=2)
    assert gateway.flush().sent and set(outbox_states(gateway)) == {"sent"}
    wrong.close()
    gateway.close()


def test_an_unreachable_token_endpoint_is_an_outage_and_nothing_is_lost(
        gateway, clock, oauth, oauth_account, xoauth2_smtp):
    oauth_account.append(gbk_mail())
    oauth.stop()
    with pytest.raises(MailboxError, match=r"^mailbox\.token_url: cannot reach the token endpoint"):
        run_once(gateway)
    assert len(inbox_uids(oauth_account)) == 1
    oauth.start()
    assert run_once(gateway) == 1
    oauth.stop()
    result = gateway.flush()
    assert result.retried and not result.sent and not result.dead
    oauth.start()
    clock.advance(hours=2)
    assert gateway.flush().sent
    assert set(outbox_states(gateway)) == {"sent"}


def test_no_token_nor_its_base64_reaches_the_log(
        gateway, oauth, oauth_account, xoauth2_smtp, caplog):
    caplog.set_level(logging.DEBUG)
    oauth_account.append(gbk_mail())
    assert run_once(gateway) == 1
    oauth.revoke_all()
    oauth_account.append(gbk_mail(subject="【紧急】质量部-第二封"))
    assert run_once(gateway) == 1
    assert gateway.flush().sent
    issued = oauth.tokens_issued()
    assert len(issued) >= 3
    text = caplog.text
    for token in issued:
        for form in xoauth2_forms(oauth_account.user, token):
            assert form not in text
    assert "new access token by client credentials" in text
