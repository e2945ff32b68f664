"""[mailbox]/[smtp] auth settings: an incomplete XOAUTH2 setup is one line naming the key."""

from __future__ import annotations

import pytest

from gateway.config import load_settings
from gateway.config_login import TokenSource
from gateway.errors import ConfigError

CC = {"auth": "xoauth2", "user": "desk@corp.example", "token_url": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
      "client_id": "app", "client_secret_env": "SECRET",
      "scope": "https://outlook.office365.com/.default"}


@pytest.mark.parametrize("section, values, source", [
    ("smtp", CC, TokenSource.CLIENT_CREDENTIALS),
    ("mailbox", {**CC, "client_secret_env": None, "refresh_token_env": "RT", "user": "u",
                 "kind": "imap", "scope": None}, TokenSource.REFRESH_TOKEN),
    ("smtp", {"auth": "xoauth2", "user": "u", "token_command": "oauth2-tool print"},
     TokenSource.COMMAND),
])
def test_complete_xoauth2_settings(section, values, source):
    settings = load_settings(None, overrides={section: values})
    assert getattr(settings, section).token_source is source


@pytest.mark.parametrize("values, message", [
    ({"auth": "xoauth2"}, "smtp: user is required for auth = 'xoauth2'"),
    ({"auth": "xoauth2", "user": "u"}, "smtp: auth = 'xoauth2' needs a token source"),
    ({**CC, "token_url": None}, "smtp: token_url is required"),
    ({**CC, "client_id": None}, "smtp: client_id is required"),
    ({**CC, "scope": None}, "smtp: scope is required for the client-credentials flow"),
    ({**CC, "token_url": "login.example"}, "smtp: token_url must be an http(s) URL"),
    ({"auth": "xoauth2", "user": "u", "token_command": "  "}, "smtp: token_command is empty"),
    ({"auth": "oauth"}, "smtp.auth: Input should be 'password' or 'xoauth2'"),
    ({"auth": "xoauth2", "token_comand": "x"}, "smtp.token_comand: unknown setting"),
])
def test_incomplete_xoauth2_settings_are_one_line_naming_the_key(values, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(None, overrides={"smtp": values})
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_secrets_come_from_env_or_file_and_are_named_when_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET", raising=False)
    smtp = load_settings(None, overrides={"smtp": CC}).smtp
    with pytest.raises(ConfigError, match=r"^smtp\.client_secret_env: environment variable "
                                          r"SECRET is not set"):
        smtp.client_secret("smtp")
    monkeypatch.setenv("SECRET", " s3cret\n")
    assert smtp.client_secret("smtp").get_secret_value() == "s3cret"
    (tmp_path / "config.toml").write_text(
        '[mailbox]\nkind = "imap"\nuser = "u"\nauth = "xoauth2"\n'
        'token_url = "https://oauth2.googleapis.com/token"\nclient_id = "c"\n'
        'refresh_token_file = "secrets/refresh"\n', encoding="utf-8")
    box = load_settings(tmp_path / "config.toml").mailbox
    assert box.refresh_token_file == tmp_path / "secrets" / "refresh"  # beside the config
    with pytest.raises(ConfigError, match=r"^mailbox\.refresh_token_file: cannot read"):
        box.refresh_token("mailbox")


def test_password_stays_the_default():
    assert load_settings(None).mailbox.auth == "password"
    assert load_settings(None).smtp.token_source is None
