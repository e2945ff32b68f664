"""Reading the robots' answers: success, their error codes, rate limits, HTTP failures."""

from __future__ import annotations

import json

import pytest

from gateway.alerts.answers import RATE_WAIT, judge, room
from gateway.alerts.channels import RobotKind

W, D, F = RobotKind.WECOM, RobotKind.DINGTALK, RobotKind.FEISHU


def j(**fields) -> str:
    return json.dumps(fields)


@pytest.mark.parametrize(("kind", "status", "text", "ok", "code", "wait"), [
    (W, 200, j(errcode=0, errmsg="ok"), True, 0, 0),
    (W, 200, j(errcode=45009, errmsg="api freq out of limit"), False, 45009, RATE_WAIT),
    (W, 200, j(errcode=93000, errmsg="invalid webhook url"), False, 93000, 0),
    (D, 200, j(errcode=0, errmsg="ok"), True, 0, 0),
    (D, 200, j(errcode=130101, errmsg="send too fast"), False, 130101, RATE_WAIT),
    (D, 200, j(errcode=310000, errmsg="sign not match"), False, 310000, 0),
    (F, 200, j(code=0, msg="success", data={}), True, 0, 0),
    (F, 200, j(code=19021, msg="sign match fail"), False, 19021, 0),
    (F, 200, j(code=11232, msg="frequency limited"), False, 11232, RATE_WAIT),
    (F, 400, j(code=9499, msg="Bad Request"), False, 9499, 0),
    (W, 502, "<html>Bad Gateway</html>", False, None, 0),
    (D, 429, "", False, None, RATE_WAIT),
    (F, 200, "not json", False, None, 0),
    (W, 500, j(errcode=0, errmsg="ok"), False, 0, 0),  # a 0 under a 5xx is no success
    (F, 200, j(errcode=0), False, None, 0),  # WeCom's field in a Feishu answer: not understood
])
def test_answers(kind, status, text, ok, code, wait):
    answer = judge(kind, status, text)
    assert (answer.ok, answer.code, answer.wait) == (ok, code, wait)


@pytest.mark.parametrize(("kind", "sent", "left"), [(D, 0, 20), (D, 19, 1), (D, 20, 0),
                                                    (D, 25, 0), (W, 20, 0), (F, 20, 80)])
def test_room_left_in_the_minute(kind, sent, left):
    assert room(kind, sent) == left
