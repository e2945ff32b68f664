"""`gateway health` with XOAUTH2 logins: the token steps, and auth problems told apart."""

from __future__ import annotations

import pytest

from gateway.runtime.assembly import Gateway, utc_now
from gateway.runtime.health import run_checks

pytestmark = pytest.mark.integration


@pytest.fixture
def migrated(oauth_settings):
    Gateway(oauth_settings).close()  # health never creates the database
    return oauth_settings


def test_health_reports_the_tokens_and_logs_in_with_them(migrated, oauth):
    checks = {c.name: c for c in run_checks(migrated, utc_now())}
    assert list(checks) == ["database", "outbox", "mailbox token", "smtp token", "mailbox",
                            "smtp", "nodes"]
    assert all(c.ok for c in checks.values()), [str(c) for c in checks.values()]
    assert str(checks["smtp token"]).startswith(
        "ok smtp token: access token by client credentials, valid 3600 s")
    # The token of the token check is the one the login used.
    assert oauth.requests == ["client_credentials", "client_credentials"]


def test_health_names_the_setting_when_no_token_can_be_had(migrated, oauth):
    oauth.stop()
    checks = {c.name: c for c in run_checks(migrated, utc_now())}
    for name in ("mailbox token", "mailbox"):
        assert not checks[name].ok
        assert checks[name].detail.startswith("mailbox.token_url: cannot reach the token "
                                              "endpoint")
    assert not checks["smtp"].ok and "smtp.token_url" in checks["smtp"].detail
    assert checks["database"].ok


def test_health_tells_a_refused_login_from_a_refused_token(migrated, oauth):
    oauth.scope = "https://other.example.test/.default"  # the servers want another scope now
    checks = {c.name: c for c in run_checks(migrated, utc_now())}
    assert checks["mailbox token"].ok and checks["smtp token"].ok
    assert "IMAP login by XOAUTH2 refused" in checks["mailbox"].detail
    assert "SMTP login by XOAUTH2 refused" in checks["smtp"].detail
