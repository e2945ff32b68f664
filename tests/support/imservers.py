"""Group-chat robots on 127.0.0.1 that check each request as their vendors document it.

WeCom group robot (企业微信群机器人), DingTalk custom robot (钉钉自定义机器人) and Feishu
custom bot (飞书自定义机器人): the webhook path and key, the message body's shape, the
signature and its one-hour timestamp window, the per-minute limit; each answers with its
vendor's success and error codes. The checks are written here from the vendors' pages, apart
from gateway/alerts/, so a mistake there shows as a refused request here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
WINDOW = 3600  # seconds: DingTalk and Feishu refuse a timestamp more than an hour off


class Robot:
    """One robot's webhook. `messages` holds the bodies it accepted, `requests` everything."""

    kind = ""
    per_minute = 20

    def __init__(self, *, secret: str | None = None, token: str = "robot-token-1",
                 clock: Callable[[], float] = time.time):
        self.secret = secret
        self.token = token
        self.clock = clock  # the robot's idea of now, in epoch seconds
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, Any] | None, tuple[int, dict]]] = []
        self._forced: deque[tuple[int, dict[str, Any] | None]] = deque()
        self._accepted_at: deque[float] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- the test's side ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{HOST}:{self._server.server_port}{self.webhook_path()}"

    def fail_next(self, times: int = 1, *, status: int = 200, code: int | None = None) -> None:
        """The next `times` requests get HTTP `status` with the vendor's error `code`
        (or, without a code, a plain-text body)."""
        for _ in range(times):
            self._forced.append((status, None if code is None else self.error(code, "forced")))

    def texts(self) -> list[str]:
        return [self.text_of(m) for m in self.messages]

    def start(self) -> Self:
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                length = int(self.headers.get("Content-Length", 0))
                status, answer = robot.handle(self.path, self.headers.get("Content-Type", ""),
                                              self.rfile.read(length))
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if isinstance(answer, dict)
                                 else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the robot's side --------------------------------------------------------------------

    def handle(self, path: str, content_type: str, raw: bytes) -> tuple[int, dict | bytes]:
        with self._lock:
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                body = None
            answer = self._answer(path, content_type, body)
            self.requests.append((path, body, answer))
            return answer

    def _answer(self, path: str, content_type: str, body: Any) -> tuple[int, dict | bytes]:
        if self._forced:
            status, forced = self._forced.popleft()
            return status, forced if forced is not None else b"upstream unavailable"
        split = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        if not content_type.startswith("application/json") or not isinstance(body, dict):
            return self.bad_request()
        refused = self.check(split.path, query, body)
        if refused is not None:
            return 200, refused
        now = self.clock()
        while self._accepted_at and self._accepted_at[0] <= now - 60:
            self._accepted_at.popleft()
        if len(self._accepted_at) >= self.per_minute:
            return 200, self.rate_limited()
        self._accepted_at.append(now)
        self.messages.append(body)
        return 200, self.ok()

    def in_window(self, stamp: float) -> bool:
        return abs(self.clock() - stamp) <= WINDOW

    # Each vendor fills these in.
    def webhook_path(self) -> str: raise NotImplementedError
    def check(self, path: str, query: dict, body: dict) -> dict | None: raise NotImplementedError
    def ok(self) -> dict: raise NotImplementedError
    def error(self, code: int, message: str) -> dict: raise NotImplementedError
    def rate_limited(self) -> dict: raise NotImplementedError
    def bad_request(self) -> tuple[int, dict]: raise NotImplementedError
    def text_of(self, body: dict) -> str: raise NotImplementedError


class WecomRobot(Robot):
    """企业微信群机器人: POST /cgi-bin/webhook/send?key=KEY; text (≤2048 bytes, with
    mentioned_list / mentioned_mobile_list) or markdown (≤4096 bytes); no signature."""

    kind = "wecom"

    def webhook_path(self) -> str:
        return f"/cgi-bin/webhook/send?key={self.token}"

    def check(self, path: str, query: dict, body: dict) -> dict | None:
        if path != "/cgi-bin/webhook/send" or query.get("key") != self.token:
            return self.error(93000, "invalid webhook url")
        kind = body.get("msgtype")
        if kind == "text":
            text = body.get("text")
            if not isinstance(text, dict) or not isinstance(text.get("content"), str):
                return self.error(40008, "invalid message type")
            if not text["content"]:
                return self.error(44004, "empty content")
            if len(text["content"].encode("utf-8")) > 2048:
                return self.error(40058, "content exceed max length 2048")
            for key in ("mentioned_list", "mentioned_mobile_list"):
                if key in text and not _strings(text[key]):
                    return self.error(40058, f"{key} must be a list of strings")
            return None
        if kind == "markdown":
            content = (body.get("markdown") or {}).get("content")
            if not isinstance(content, str) or not content:
                return self.error(44004, "empty content")
            return None
        return self.error(40008, "invalid message type")

    def ok(self) -> dict:
        return {"errcode": 0, "errmsg": "ok"}

    def error(self, code: int, message: str) -> dict:
        return {"errcode": code, "errmsg": message}

    def rate_limited(self) -> dict:
        return self.error(45009, "api freq out of limit")

    def bad_request(self) -> tuple[int, dict]:
        return 200, self.error(40008, "invalid message type")

    def text_of(self, body: dict) -> str:
        return body["text"]["content"]


class DingtalkRobot(Robot):
    """钉钉自定义机器人: POST /robot/send?access_token=TOKEN[&timestamp=ms&sign=…]; the sign
    is urlencode(base64(HmacSHA256(key=secret, "timestamp\\nsecret"))); text or markdown,
    with at.atMobiles; at most 20 messages a minute (130101)."""

    kind = "dingtalk"

    def webhook_path(self) -> str:
        return f"/robot/send?access_token={self.token}"

    def check(self, path: str, query: dict, body: dict) -> dict | None:
        if path != "/robot/send" or query.get("access_token") != self.token:
            return self.error(300001, "token is not exist")
        if self.secret is not None:
            stamp, sign = query.get("timestamp", ""), query.get("sign", "")
            if not stamp.isdigit() or not self.in_window(int(stamp) / 1000):
                return self.error(310000, "invalid timestamp")
            digest = hmac.new(self.secret.encode(), f"{stamp}\n{self.secret}".encode(),
                              hashlib.sha256).digest()
            # parse_qs has undone the URL-encoding; what remains must be the Base64.
            if not hmac.compare_digest(base64.b64encode(digest).decode(), sign):
                return self.error(310000, "sign not match")
        kind = body.get("msgtype")
        if kind == "text":
            if not isinstance((body.get("text") or {}).get("content"), str):
                return self.error(40035, "缺少参数 text")
        elif kind == "markdown":
            markdown = body.get("markdown") or {}
            if not isinstance(markdown.get("title"), str) or not isinstance(markdown.get("text"), str):
                return self.error(40035, "缺少参数 markdown")
        else:
            return self.error(40035, "缺少参数 msgtype")
        at = body.get("at", {})
        if not isinstance(at, dict) or ("atMobiles" in at and not _strings(at["atMobiles"])):
            return self.error(40035, "at.atMobiles must be a list of strings")
        return None

    def ok(self) -> dict:
        return {"errcode": 0, "errmsg": "ok"}

    def error(self, code: int, message: str) -> dict:
        return {"errcode": code, "errmsg": message}

    def rate_limited(self) -> dict:
        return self.error(130101, "send too fast, exceed 20 times per minute")

    def bad_request(self) -> tuple[int, dict]:
        return 200, self.error(40035, "缺少参数 json")

    def text_of(self, body: dict) -> str:
        return body["text"]["content"] if body["msgtype"] == "text" else body["markdown"]["text"]


class FeishuRobot(Robot):
    """飞书自定义机器人: POST /open-apis/bot/v2/hook/TOKEN; with signing the body carries
    "timestamp" (seconds, as a string) and "sign" = base64(HmacSHA256(key="timestamp\\nsecret",
    msg="")); msg_type text (content.text) or post; 100 a minute (11232)."""

    kind = "feishu"
    per_minute = 100

    def webhook_path(self) -> str:
        return f"/open-apis/bot/v2/hook/{self.token}"

    def check(self, path: str, query: dict, body: dict) -> dict | None:
        if path != f"/open-apis/bot/v2/hook/{self.token}":
            return self.error(19001, "param invalid: incoming webhook access token invalid")
        if self.secret is not None:
            stamp, sign = str(body.get("timestamp", "")), body.get("sign", "")
            good = stamp.isdigit() and self.in_window(int(stamp))
            if good:
                digest = hmac.new(f"{stamp}\n{self.secret}".encode(), b"", hashlib.sha256).digest()
                good = isinstance(sign, str) and hmac.compare_digest(
                    base64.b64encode(digest).decode(), sign)
            if not good:
                return self.error(19021, "sign match fail or timestamp is not within one hour "
                                         "from current time")
        kind, content = body.get("msg_type"), body.get("content")
        if kind == "text" and isinstance(content, dict) and isinstance(content.get("text"), str):
            return None
        if kind == "post" and isinstance(content, dict) and isinstance(content.get("post"), dict):
            return None
        return self.error(9499, "Bad Request")

    def ok(self) -> dict:
        return {"code": 0, "data": {}, "msg": "success"}

    def error(self, code: int, message: str) -> dict:
        return {"code": code, "data": {}, "msg": message}

    def rate_limited(self) -> dict:
        return self.error(11232, "frequency limited psm[lark.oapi.app_platform_runtime]")

    def bad_request(self) -> tuple[int, dict]:
        return 400, self.error(9499, "Bad Request")

    def text_of(self, body: dict) -> str:
        return body["content"]["text"]


ROBOTS = {"wecom": WecomRobot, "dingtalk": DingtalkRobot, "feishu": FeishuRobot}


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
