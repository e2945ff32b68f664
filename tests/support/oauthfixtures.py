"""OAuth2 fixtures: a token/introspection endpoint, a Dovecot that takes XOAUTH2 through it,
an aiosmtpd that takes AUTH XOAUTH2 through it, and settings of a gateway logging in so."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

import pytest
from mailmaker import GATEWAY
from oauthserver import MAIL_SCOPE, OAuthServer
from paths import ROOT
from servers import Dovecot, ImapAccount, SmtpCapture, dovecot_available, require

from gateway.config import load_settings

OAUTH_PASSWORD = "append-only"  # the test's own connection appends with it; the gateway never
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def oauth_endpoint():
    """One provider for the run: Dovecot's config names its introspection URL."""
    server = OAuthServer().start()
    yield server
    server.stop()


@pytest.fixture
def oauth(oauth_endpoint) -> OAuthServer:
    """The provider, reset for this test: running, long-lived tokens, nothing issued."""
    server = oauth_endpoint
    server.start()
    server.lifetime, server.scope, server.app_user = 3600.0, MAIL_SCOPE, None
    server.issued.clear()
    server.requests.clear()
    server.refresh_tokens.clear()
    return server


@pytest.fixture(scope="session")
def oauth_dovecot(oauth_endpoint):
    """A private Dovecot whose oauth2 passdb asks the provider about every XOAUTH2 token."""
    require(dovecot_available())
    base = Path(tempfile.mkdtemp(prefix="gateway-dovecot-oauth-"))
    server = Dovecot(base, introspection_url=oauth_endpoint.introspection_url)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def oauth_account(oauth_dovecot, oauth) -> ImapAccount:
    """A fresh mailbox; client-credentials tokens act for it (as an Entra app granted it)."""
    if not oauth_dovecot.is_running:
        oauth_dovecot.start()
    account = oauth_dovecot.add_user(f"o{next(_numbers)}@example.test", OAUTH_PASSWORD)
    oauth.app_user = account.user
    return account


@pytest.fixture
def xoauth2_smtp(oauth):
    """An SMTP server that takes only AUTH XOAUTH2 with a token the provider calls active."""
    with SmtpCapture(xoauth2=oauth.accepts) as capture:
        yield capture


@pytest.fixture
def oauth_settings(tmp_path, oauth_account, xoauth2_smtp, oauth, monkeypatch):
    """A gateway logging in to both servers by XOAUTH2 with client-credentials tokens."""
    monkeypatch.setenv("TEST_CLIENT_SECRET", oauth.client_secret)
    login = {"auth": "xoauth2", "token_url": oauth.token_url, "client_id": oauth.client_id,
             "client_secret_env": "TEST_CLIENT_SECRET", "scope": MAIL_SCOPE,
             "token_timeout": 3, "user": oauth_account.user}
    return load_settings(None, overrides={
        "gateway": {"domain": "gateway.corp.example", "internal_domains": ["corp.example"],
                    "rules_dir": str(ROOT / "rules"), "templates_dir": str(ROOT / "templates"),
                    "storage_dir": str(tmp_path / "storage")},
        "mailbox": {"kind": "imap", "host": oauth_account.host, "port": oauth_account.port,
                    "tls": "none", "poll_interval": 0.2, **login},
        "smtp": {"host": xoauth2_smtp.host, "port": xoauth2_smtp.port, "tls": "none",
                 "from": f"信息交流网关 <{GATEWAY}>", "backoff_initial": 60, **login},
    })
