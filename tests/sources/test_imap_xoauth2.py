"""The IMAP source logging in by XOAUTH2 to Dovecot's oauth2 passdb: long IDLE and token life."""

from __future__ import annotations

import time

import pytest
from mailmaker import gbk_mail
from oauthserver import MAIL_SCOPE

from gateway.credentials.grants import EndpointGrant
from gateway.credentials.provider import TokenProvider
from gateway.errors import MailboxError
from gateway.sources.imap import ImapSource
from gateway.sources.imap_settings import ImapSettings

pytestmark = pytest.mark.integration


def make_source(account, oauth, use_idle=True, **grant_changes
                ) -> tuple[ImapSource, TokenProvider]:
    grant = EndpointGrant("mailbox", oauth.token_url, oauth.client_id, oauth.client_secret,
                          MAIL_SCOPE, timeout=3, **grant_changes)
    tokens = TokenProvider("mailbox", account.user, grant)
    settings = ImapSettings(host=account.host, port=account.port, tls="none", user=account.user,
                            password="", poll_interval=0.2, timeout=10, use_idle=use_idle)
    saved = []
    return ImapSource(settings, lambda: saved[-1] if saved else None, saved.append,
                      tokens=tokens), tokens


def test_a_long_idle_ends_when_the_token_is_due_and_resumes_with_a_fresh_one(
        oauth, oauth_account):
    oauth.lifetime = 2.0  # due for refresh after 1 s
    source, tokens = make_source(oauth_account, oauth)
    try:
        assert source.fetch() == []
        first = oauth.tokens_issued()
        started = time.monotonic()
        assert source.wait(30.0) is False  # not 30 s: IDLE stops when the token is due
        assert time.monotonic() - started < 2.0
        oauth_account.append(gbk_mail())
        source.wait(0.5)  # logs in again first, with a new token
        assert tokens.fetched == 2 and len(oauth.tokens_issued()) == 2
        time.sleep(1.2)  # the first token has expired at the provider by now
        assert not oauth.introspect(first[0])["active"]
        assert [m.uid for m in source.fetch()] == [1]  # on the session of the fresh token
    finally:
        source.close()


def test_polling_logs_in_again_when_the_token_is_due(oauth, oauth_account):
    oauth.lifetime = 2.0
    source, tokens = make_source(oauth_account, oauth, use_idle=False)
    try:
        oauth_account.append(gbk_mail())
        assert len(source.fetch()) == 1
        time.sleep(1.1)
        oauth_account.append(gbk_mail())
        assert [m.uid for m in source.fetch()] == [1, 2]  # unsettled: handed out again
        assert tokens.fetched == 2
    finally:
        source.close()


def test_idle_still_reports_new_mail_under_a_token(oauth, oauth_account):
    source, _ = make_source(oauth_account, oauth)
    try:
        source.fetch()
        oauth_account.append(gbk_mail())
        assert source.wait(5.0) is True
        assert len(source.fetch()) == 1
    finally:
        source.close()


def test_a_refused_token_then_an_unreachable_endpoint_is_a_mailbox_error_naming_the_key(
        oauth, oauth_account):
    source, tokens = make_source(oauth_account, oauth)
    try:
        source.fetch()
        source.close()
        oauth.revoke_all()
        oauth.stop()
        with pytest.raises(MailboxError) as caught:
            source.fetch()
        # The cached token was refused; the new one could not be had.
        assert str(caught.value).startswith("mailbox.token_url: cannot reach the token endpoint")
        oauth.start()
        oauth_account.append(gbk_mail())
        assert len(source.fetch()) == 1
        assert tokens.fetched == 2
    finally:
        source.close()
