"""[[im.channel]] read once at load: the stable keys, their checks, secrets kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_settings
from gateway.errors import ConfigError

GOOD = """
[[im.channel]]
name = "生产值班群"
kind = "wecom"
webhook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-key"
events = ["critical_opened", "escalation"]
departments = ["生产部"]

[[im.channel]]
name = "督办群"
kind = "dingtalk"
webhook = "https://oapi.dingtalk.com/robot/send?access_token=tok"
secret_file = "secrets/ding.txt"
events = ["breach", "approval_waiting"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_channels_load_with_their_keys_and_a_relative_secret_file(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "ding.txt").write_text("SECabc\n")
    settings = load_settings(_write(tmp_path, GOOD))
    wecom, ding = settings.im.channel
    assert (wecom.name, wecom.kind, wecom.events, wecom.departments) == (
        "生产值班群", "wecom", ("critical_opened", "escalation"), ("生产部",))
    assert ding.departments is None and ding.secret().get_secret_value() == "SECabc"
    assert wecom.secret() is None
    assert "abc-key" not in repr(settings) and "tok" not in repr(ding)


def test_a_secret_from_the_environment_names_the_variable_when_unset(tmp_path, monkeypatch):
    settings = load_settings(_write(tmp_path, GOOD.replace(
        'secret_file = "secrets/ding.txt"', 'secret_env = "DING_SECRET"')))
    with pytest.raises(ConfigError, match="DING_SECRET is not set"):
        settings.im.channel[1].secret()
    monkeypatch.setenv("DING_SECRET", "SECenv")
    assert settings.im.channel[1].secret().get_secret_value() == "SECenv"


@pytest.mark.parametrize(("change", "message"), [
    (('kind = "wecom"', 'kind = "slack"'), "im.channel.0.kind"),
    (('webhook = "https://qyapi', 'webhook = "qyapi'), "full http(s) URL"),
    (('"critical_opened", "escalation"]', '"critical_opened", "overdue"]'), "im.channel.0.events"),
    (('events = ["critical_opened", "escalation"]', 'events = []'), "im.channel.0.events"),
    (('departments = ["生产部"]', 'departments = ["生产部"]\nsecret_env = "X"'), "not signed"),
    (('secret_file = "secrets/ding.txt"', 'secret_file = "a"\nsecret_env = "B"'), "not both"),
    (('name = "督办群"', 'name = "生产值班群"'), "unique: 生产值班群"),
    (('departments = ["生产部"]', 'department = ["生产部"]'), "unknown setting"),
])
def test_a_wrong_channel_is_one_line_naming_the_key(tmp_path, change, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, GOOD.replace(*change)))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_unknown_channel_name_lists_the_known_ones(tmp_path):
    settings = load_settings(_write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match="no \\[\\[im.channel\\]\\] named '不存在' "
                                          "\\(生产值班群, 督办群\\)"):
        settings.im.find("不存在")
