"""Signatures as DingTalk and Feishu document them, checked by the local robots' own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from imservers import DingtalkRobot, FeishuRobot

from gateway.alerts.channels import RobotKind
from gateway.alerts.signing import dingtalk_sign, feishu_sign, signed_request

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
BODY = {"msgtype": "text", "text": {"content": "【特急事项】NX-2026-001 特急"}}


def test_dingtalk_sign_follows_the_documented_steps():
    # DingTalk's Python example: hmac.new(secret, "timestamp\nsecret", sha256), b64, quote_plus.
    secret, stamp = "SEC0123456789abcdef", 1700000000000
    digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    assert dingtalk_sign(secret, stamp) == base64.b64encode(digest).decode()
    # A fixed value pins the function against silent change.
    assert dingtalk_sign("this is secret", 1577262236757) == (
        base64.b64encode(hmac.new(b"this is secret", b"1577262236757\nthis is secret",
                                  hashlib.sha256).digest()).decode())


def test_feishu_sign_keys_the_hmac_with_timestamp_and_secret_over_an_empty_message():
    secret, stamp = "demo-secret", 1599360473
    digest = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    assert feishu_sign(secret, stamp) == base64.b64encode(digest).decode()
    # Keyed by the secret instead (DingTalk's way) would be another value.
    other = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    assert feishu_sign(secret, stamp) != base64.b64encode(other).decode()


def test_dingtalk_request_carries_milliseconds_and_the_url_encoded_sign_in_the_query():
    url, data = signed_request(RobotKind.DINGTALK, "https://oapi.dingtalk.com/robot/send?"
                               "access_token=abc", BODY, "SECxyz", NOW)
    query = urlsplit(url).query
    params = parse_qs(query)
    assert params["access_token"] == ["abc"]
    assert params["timestamp"] == [str(int(NOW.timestamp() * 1000))]
    assert f"sign={quote_plus(dingtalk_sign('SECxyz', int(NOW.timestamp() * 1000)))}" in query
    assert json.loads(data) == BODY  # the body itself is not touched


def test_feishu_request_carries_seconds_and_the_sign_in_the_body():
    url, data = signed_request(RobotKind.FEISHU, "https://open.feishu.cn/open-apis/bot/v2/hook/x",
                               {"msg_type": "text", "content": {"text": "hi"}}, "s", NOW)
    body = json.loads(data)
    assert url.endswith("/hook/x")
    assert body["timestamp"] == str(int(NOW.timestamp()))
    assert body["sign"] == feishu_sign("s", int(NOW.timestamp()))
    assert body["content"] == {"text": "hi"}


@pytest.mark.parametrize("kind", list(RobotKind))
def test_without_a_secret_nothing_is_added(kind):
    url, data = signed_request(kind, "https://robot.example/hook?key=k", BODY, None, NOW)
    assert url == "https://robot.example/hook?key=k"
    assert json.loads(data) == BODY


def test_chinese_text_goes_as_utf8_not_escaped():
    _, data = signed_request(RobotKind.WECOM, "https://x/y", BODY, None, NOW)
    assert "特急".encode() in data


secrets = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=64)
moments = st.integers(min_value=1_500_000_000, max_value=2_200_000_000).map(
    lambda s: datetime.fromtimestamp(s, UTC))


@given(secret=secrets, now=moments)
def test_the_dingtalk_robot_accepts_every_signed_request(secret, now):
    robot = DingtalkRobot(secret=secret, clock=lambda: now.timestamp())
    url, data = signed_request(RobotKind.DINGTALK, "http://h" + robot.webhook_path(), BODY,
                               secret, now)
    path = url.removeprefix("http://h")
    status, answer = robot.handle(path, "application/json", data)
    assert (status, answer["errcode"]) == (200, 0), answer


@given(secret=secrets, now=moments)
def test_the_feishu_robot_accepts_every_signed_request(secret, now):
    robot = FeishuRobot(secret=secret, clock=lambda: now.timestamp())
    body = {"msg_type": "text", "content": {"text": "x"}}
    url, data = signed_request(RobotKind.FEISHU, "http://h" + robot.webhook_path(), body,
                               secret, now)
    status, answer = robot.handle(url.removeprefix("http://h"), "application/json", data)
    assert (status, answer["code"]) == (200, 0), answer


@pytest.mark.parametrize(("robot_class", "code_key", "refused"),
                         [(DingtalkRobot, "errcode", 310000), (FeishuRobot, "code", 19021)])
@pytest.mark.parametrize(("secret", "skew"), [("wrong", 0), ("right", 3601), ("right", -3601)])
def test_a_wrong_secret_or_a_stale_timestamp_is_refused(robot_class, code_key, refused,
                                                        secret, skew):
    robot = robot_class(secret="right", clock=lambda: NOW.timestamp() + skew)
    kind = RobotKind(robot.kind)
    body = BODY if kind is RobotKind.DINGTALK else {"msg_type": "text", "content": {"text": "x"}}
    url, data = signed_request(kind, "http://h" + robot.webhook_path(), body, secret, NOW)
    _, answer = robot.handle(url.removeprefix("http://h"), "application/json", data)
    assert answer[code_key] == refused
