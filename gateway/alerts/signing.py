"""The robots' request signatures: DingTalk's in the query, Feishu's in the body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from gateway.alerts.channels import RobotKind


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """Base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret")), before URL-encoding."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Base64(HMAC-SHA256(key="timestamp\\nsecret", msg=b"")), as Feishu's example computes it."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode("utf-8"), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_request(kind: RobotKind, webhook: str, body: dict[str, Any], secret: str | None,
                   now: datetime) -> tuple[str, bytes]:
    """The URL and JSON bytes to POST at `now`; signed when the channel has a secret.

    Signed at sending, not at queueing: both robots refuse a timestamp an hour old, and a
    retried alert may wait longer than that.
    """
    url = webhook
    if secret and kind is RobotKind.DINGTALK:
        stamp = int(now.timestamp() * 1000)
        joiner = "&" if "?" in webhook else "?"
        url = f"{webhook}{joiner}timestamp={stamp}&sign={quote_plus(dingtalk_sign(secret, stamp))}"
    elif secret and kind is RobotKind.FEISHU:
        stamp = int(now.timestamp())
        body = {"timestamp": str(stamp), "sign": feishu_sign(secret, stamp), **body}
    return url, json.dumps(body, ensure_ascii=False).encode("utf-8")
