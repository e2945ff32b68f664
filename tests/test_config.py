"""Settings: validated once at load, every error one line naming the key."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from paths import ROOT

from gateway.config import load_settings
from gateway.deadlines.duration import Duration, Unit
from gateway.errors import ConfigError
from gateway.model import Urgency


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_loads(monkeypatch):
    settings = load_settings(ROOT / "config.example.toml")
    assert settings.mailbox.kind == "imap"
    assert settings.mailbox.effective_port == 993
    assert settings.smtp.from_ == "信息交流网关 <gateway@corp.example>"
    assert settings.gateway.internal_domains == ("corp.example",)
    assert str(settings.tz) == "Asia/Shanghai"
    assert settings.gateway.admins == ("it-admin@corp.example",)


def test_defaults_need_no_file():
    settings = load_settings(None)
    assert settings.mailbox.kind == "maildir"
    assert settings.database_url.endswith("storage/gateway.sqlite3")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[smtp]\nport = 'abc'\n", "smtp.port: "),
        ("[smtp]\nport = 70000\n", "smtp.port: "),
        ("[mailbox]\nkind = 'pop3'\n", "mailbox.kind: "),
        ("[mailbox]\ntls = 'maybe'\n", "mailbox.tls: "),
        ("[mailbox]\nkind = 'imap'\n", "mailbox: user is required"),
        ("[gateway]\ntimezone = 'Mars/Base'\n", "gateway.timezone: unknown time zone"),
        ("[gateway]\nrule_dir = 'x'\n", "gateway.rule_dir: unknown setting"),
        ("[smtpp]\nhost = 'x'\n", "smtpp: unknown setting"),
        ("[smtp\nhost = 'x'\n", "line 1"),
        ("[deadlines.urgent]\nresponse = '2 fortnights'\n",
         ": deadlines.urgent.response: cannot read '2 fortnights'"),
        ("[deadlines.asap]\nresponse = '1 hour'\n", ": deadlines.asap: unknown urgency"),
        ("[deadlines]\nurgent = '8 hours'\n", ": deadlines.urgent: expected a table"),
        ("[gateway]\nadmins = ['boss']\n", "gateway.admins: "),
    ],
)
def test_a_wrong_setting_is_one_line_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, text))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert str(tmp_path / "config.toml") in str(caught.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_config_path_from_environment(tmp_path, monkeypatch):
    path = _write(tmp_path, "[gateway]\ndomain = 'gw.example'\n")
    monkeypatch.setenv("GATEWAY_CONFIG", str(path))
    assert load_settings().gateway.domain == "gw.example"


def test_relative_paths_are_relative_to_the_file(tmp_path):
    path = _write(tmp_path, "[gateway]\nrules_dir = 'r'\n[database]\nurl = 'sqlite:///db/g.sqlite3'\n")
    settings = load_settings(path)
    assert settings.gateway.rules_dir == tmp_path / "r"
    assert settings.database_url == f"sqlite:///{tmp_path / 'db/g.sqlite3'}"


def test_password_comes_from_env_or_file_and_is_masked(tmp_path, monkeypatch):
    secret_file = tmp_path / "smtp.secret"
    secret_file.write_text("file-s3cret\n")
    path = _write(tmp_path, "[mailbox]\nkind='imap'\nuser='u'\npassword_env='GW_PW'\n"
                            "[smtp]\npassword_file='smtp.secret'\n")
    monkeypatch.setenv("GW_PW", "env-s3cret")
    settings = load_settings(path)
    imap_pw = settings.mailbox.password("mailbox")
    smtp_pw = settings.smtp.password("smtp")
    assert imap_pw.get_secret_value() == "env-s3cret"
    assert smtp_pw.get_secret_value() == "file-s3cret"
    assert "s3cret" not in repr(imap_pw) + str(smtp_pw) + repr(settings)


def test_unset_password_variable_names_the_key(tmp_path):
    path = _write(tmp_path, "[smtp]\npassword_env='GW_UNSET_VARIABLE'\n")
    with pytest.raises(ConfigError, match="smtp.password_env: environment variable"):
        load_settings(path).smtp.password("smtp")


def test_empty_processed_folder_means_flag_only(tmp_path):
    settings = load_settings(_write(tmp_path, "[mailbox]\nprocessed_folder = ''\n"))
    assert settings.mailbox.processed_folder is None


def test_durations_are_read_once_at_load_into_typed_values(tmp_path):
    path = _write(tmp_path, "[loop]\nclose_after = '3个工作日'\n[archive]\ndelay = '8 working hours'\n"
                            "[chase.cadence]\nurgent = '2 hours'\n")
    settings = load_settings(path)
    assert settings.loop.close_after == Duration(3, Unit.WORKING_DAYS)
    assert settings.archive.delay == Duration(8, Unit.WORKING_HOURS)
    assert settings.chase.cadence == {"urgent": Duration(2, Unit.CLOCK_HOURS)}
    defaults = load_settings(None)
    assert defaults.loop.close_after == Duration(5, Unit.WORKING_DAYS)
    assert defaults.archive.delay == Duration(2, Unit.WORKING_DAYS)


def test_a_wrong_cadence_names_its_urgency(tmp_path):
    with pytest.raises(ConfigError, match=r"chase\.cadence\.urgent: cannot read 'soon'"):
        load_settings(_write(tmp_path, "[chase.cadence]\nurgent = 'soon'\n"))


def test_auto_reply_cap_is_read_from_its_section(tmp_path):
    settings = load_settings(_write(tmp_path, "[auto_reply]\nlimit = 2\nwindow_minutes = 30\n"))
    assert (settings.auto_reply.limit, settings.auto_reply.window_minutes) == (2, 30)


def test_the_old_loops_section_still_works_with_a_one_line_warning(tmp_path, caplog):
    path = _write(tmp_path, "[loops]\nauto_reply_limit = 2\nauto_reply_window_minutes = 30\n")
    with caplog.at_level(logging.WARNING, logger="gateway.config"):
        settings = load_settings(path)
    assert (settings.auto_reply.limit, settings.auto_reply.window_minutes) == (2, 30)
    [warning] = [r.getMessage() for r in caplog.records if r.name == "gateway.config"]
    assert "[loops] is deprecated: rename it [auto_reply]" in warning and "\n" not in warning
    assert str(path) in warning


def test_loops_beside_auto_reply_is_refused(tmp_path):
    path = _write(tmp_path, "[loops]\nauto_reply_limit = 2\n[auto_reply]\nlimit = 3\n")
    with pytest.raises(ConfigError, match="loops: replaced by \\[auto_reply\\]"):
        load_settings(path)


def test_deadlines_are_read_at_load_over_the_defaults(tmp_path):
    settings = load_settings(_write(tmp_path, "[deadlines.urgent]\nresponse = '8 hours'\n"))
    assert settings.deadlines[(Urgency.URGENT, "response")] == Duration(8, Unit.CLOCK_HOURS)
    assert settings.deadlines[(Urgency.NORMAL, "response")] == (
        load_settings(None).deadlines[(Urgency.NORMAL, "response")])
