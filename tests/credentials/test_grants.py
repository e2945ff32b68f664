"""Tokens from a real local token endpoint (Authlib over HTTP) and from real commands."""

from __future__ import annotations

import sys

import pytest
from oauthserver import MAIL_SCOPE

from gateway.credentials.command import TokenCommand
from gateway.credentials.grants import EndpointGrant
from gateway.errors import TokenError


def grant(oauth, **changes) -> EndpointGrant:
    values = {"client_secret": oauth.client_secret, "scope": MAIL_SCOPE, "timeout": 3}
    values.update(changes)
    return EndpointGrant("mailbox", oauth.token_url, oauth.client_id, **values)


def test_client_credentials_give_a_token_for_the_apps_mailbox(oauth):
    oauth.app_user, oauth.lifetime = "box@example.test", 600
    token = grant(oauth)()
    assert token.lifetime == 600
    assert oauth.introspect(token.value) == {
        "active": True, "username": "box@example.test", "scope": MAIL_SCOPE}
    assert oauth.requests == ["client_credentials"]


def test_a_refresh_token_gives_a_token_without_a_client_secret(oauth):
    refresh = oauth.add_refresh_token("user@example.test")
    token = grant(oauth, client_secret=None, refresh_token=refresh)()
    assert oauth.introspect(token.value)["username"] == "user@example.test"


@pytest.mark.parametrize("changes, message", [
    ({"client_secret": "wrong"},
     (r"^mailbox\.client_secret: the token endpoint refused the client credentials: "
      r"invalid_client")),
    ({"client_secret": None, "refresh_token": "rt-revoked"},
     (r"^mailbox\.refresh_token: the token endpoint refused the refresh token: invalid_grant "
      r"\(AADSTS70000")),
])
def test_refusals_name_the_setting(oauth, changes, message):
    oauth.app_user = "box@example.test"
    with pytest.raises(TokenError, match=message):
        grant(oauth, **changes)()


def test_an_unreachable_endpoint_names_token_url(oauth):
    g = grant(oauth)
    oauth.stop()
    with pytest.raises(TokenError, match=r"^mailbox\.token_url: cannot reach the token "
                                         r"endpoint http://127\.0\.0\.1:\d+/token"):
        g()


def test_the_repr_holds_no_secret(oauth):
    g = grant(oauth, refresh_token="rt-very-secret")
    assert "app-secret" not in repr(g) and "rt-very-secret" not in repr(g)


@pytest.mark.parametrize("command, message", [
    ("/nonexistent/token-tool", "program not found"),
    (f"{sys.executable} -c 'import sys; print(\"no tenant\", file=sys.stderr); sys.exit(3)'",
     "exited with 3: no tenant"),
    (f"{sys.executable} -c 'print()'", "one token on one line"),
    (f"{sys.executable} -c 'import time; time.sleep(5)'", "gave no token within 0.5 s"),
])
def test_token_command_failures_name_the_setting(command, message):
    with pytest.raises(TokenError, match=rf"^smtp\.token_command: .*{message}"):
        TokenCommand("smtp", command, timeout=0.5)()


def test_token_command_output_never_shows_in_its_error():
    command = f"{sys.executable} -c 'print(\"tok-abc\"); raise SystemExit(1)'"
    with pytest.raises(TokenError) as caught:
        TokenCommand("smtp", command)()
    assert "tok-abc" not in str(caught.value)


def test_token_command_json_answer():
    command = f"""{sys.executable} -c 'print("{{\\"access_token\\": \\"t1\\", \\"expires_in\\": 90}}")'"""
    token = TokenCommand("smtp", command)()
    assert (token.value, token.lifetime) == ("t1", 90)
