"""`gateway check` against Dovecot (password and oauth2 passdb) and aiosmtpd: a line per step,
the failing step named, the steps after it skipped, exit 69."""

from __future__ import annotations

import pytest
from paths import ROOT

from gateway.cli.main import main
from gateway.runtime.check import run_steps

pytestmark = pytest.mark.integration

XOAUTH2_STEPS = ["settings", "mailbox dns", "mailbox tls", "mailbox token", "mailbox login",
                 "mailbox folders", "smtp dns", "smtp tls", "smtp token", "smtp login"]


def with_changes(settings, **sections):
    return settings.model_copy(update={
        name: getattr(settings, name).model_copy(update=values)
        for name, values in sections.items()})


def states(steps) -> dict[str, str]:
    return {step.name: step.state for step in steps}


def test_every_step_passes_against_the_xoauth2_servers(oauth_settings, oauth_account):
    steps = list(run_steps(oauth_settings))
    assert [s.name for s in steps] == XOAUTH2_STEPS
    assert all(s.state == "ok" for s in steps), [str(s) for s in steps]
    lines = {s.name: str(s) for s in steps}
    assert lines["mailbox login"] == f"ok mailbox login: {oauth_account.user} by XOAUTH2"
    assert lines["mailbox folders"] == "ok mailbox folders: INBOX, Processed, Quarantine exist"
    assert lines["mailbox token"].startswith("ok mailbox token: access token by client "
                                             "credentials, valid 3600 s")
    assert lines["mailbox tls"].endswith("without TLS (tls = none)")


def test_a_password_setup_has_no_token_steps(settings, imap_account):
    steps = list(run_steps(settings))
    assert "mailbox token" not in states(steps) and "smtp token" not in states(steps)
    assert all(s.state == "ok" for s in steps), [str(s) for s in steps]
    assert str(steps[3]) == f"ok mailbox login: {imap_account.user} by password"


def test_an_unreachable_token_endpoint_fails_the_token_steps_and_skips_the_logins(
        oauth_settings, oauth):
    oauth.stop()
    found = states(run_steps(oauth_settings))
    assert found == {"settings": "ok", "mailbox dns": "ok", "mailbox tls": "ok",
                     "mailbox token": "FAIL", "mailbox login": "skip", "mailbox folders": "skip",
                     "smtp dns": "ok", "smtp tls": "ok", "smtp token": "FAIL",
                     "smtp login": "skip"}


@pytest.mark.parametrize("changes, failing, says", [
    ({"mailbox": {"folder": "Support"}}, "mailbox folders",
     "folder 'Support' ([mailbox] folder) does not exist"),
    ({"mailbox": {"host": "imap.nonexistent.invalid"}}, "mailbox dns",
     "imap.nonexistent.invalid does not resolve"),
    ({"mailbox": {"scope": "https://graph.example.test/.default"}}, "mailbox login",
     "IMAP login by XOAUTH2 refused"),
    ({"smtp": {"port": 1}}, "smtp tls", ""),
    ({"smtp": {"scope": "https://graph.example.test/.default"}}, "smtp login",
     "SMTP login by XOAUTH2 refused"),
])
def test_the_failing_step_is_named_and_later_steps_skipped(oauth_settings, changes, failing,
                                                          says):
    steps = list(run_steps(with_changes(oauth_settings, **changes)))
    failed = [s for s in steps if s.state == "FAIL"]
    assert [s.name for s in failed] == [failing], [str(s) for s in steps]
    assert says in failed[0].detail
    server = failing.split()[0]
    after = XOAUTH2_STEPS[XOAUTH2_STEPS.index(failing) + 1:]
    assert all(s.state == "skip" for s in steps if s.name in after
               and s.name.startswith(server))


def test_the_command_prints_a_line_per_step_and_exits_69_on_failure(
        tmp_path, oauth, oauth_account, xoauth2_smtp, monkeypatch, capsys):
    monkeypatch.setenv("CLIENT_SECRET", oauth.client_secret)
    login = (f'auth = "xoauth2"\ntoken_url = "{oauth.token_url}"\nclient_id = '
             f'"{oauth.client_id}"\nclient_secret_env = "CLIENT_SECRET"\n'
             f'scope = "{oauth.scope}"\nuser = "{oauth_account.user}"\n')
    config = tmp_path / "config.toml"
    config.write_text(
        f'[gateway]\nrules_dir = "{ROOT / "rules"}"\nstorage_dir = "{tmp_path}"\n'
        f'[mailbox]\nkind = "imap"\nhost = "{oauth_account.host}"\nport = {oauth_account.port}\n'
        f'tls = "none"\n{login}'
        f'[smtp]\nhost = "{xoauth2_smtp.host}"\nport = {xoauth2_smtp.port}\ntls = "none"\n{login}',
        encoding="utf-8")
    assert main(["--config", str(config), "check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"ok {name}" for name in XOAUTH2_STEPS]
    monkeypatch.delenv("CLIENT_SECRET")
    assert main(["--config", str(config), "check"]) == 69
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL settings: mailbox.client_secret_env: environment variable "
                             "CLIENT_SECRET is not set")
    for token in oauth.tokens_issued():
        assert token not in "\n".join(lines + out)


def test_a_bad_config_file_is_one_failed_settings_line(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text('[smtp]\nauth = "xoauth2"\nuser = "u"\n', encoding="utf-8")
    assert main(["--config", str(config), "check"]) == 78
    assert capsys.readouterr().out == (f"FAIL settings: {config}: smtp: auth = 'xoauth2' needs "
                                       "a token source: client_secret_env or client_secret_file "
                                       "(client credentials), refresh_token_env or "
                                       "refresh_token_file, or token_command\n")
