"""The only part that talks to group-chat robots: one JSON POST to a webhook, its answer back."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_ANSWER = 64 * 1024  # a robot answers with a few dozen bytes of JSON


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    text: str


class WebhookUnreachable(Exception):
    """No HTTP answer at all: refused, timed out, TLS or DNS failure. Worth another try."""


def post_json(url: str, body: bytes, timeout: float) -> HttpAnswer:
    """POST `body` as application/json; any HTTP status comes back, only no answer raises."""
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8",
                 "User-Agent": "mail-gateway alerts"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return HttpAnswer(response.status, _text(response.read(MAX_ANSWER)))
    except urllib.error.HTTPError as exc:
        with exc:
            return HttpAnswer(exc.code, _text(exc.read(MAX_ANSWER)))
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        # The URL holds the robot's key or token: the error names the host only.
        host = urlsplit(url).netloc
        raise WebhookUnreachable(f"{host}: {reason}") from None


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
