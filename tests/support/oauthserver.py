"""A token endpoint and an introspection endpoint on 127.0.0.1, as an OAuth2 provider behaves.

POST /token issues short-lived bearer tokens by client credentials (RFC 6749 §4.4) or a refresh
token (§6); POST /introspect answers Dovecot's oauth2 passdb (RFC 7662) and the SMTP capture.
Tokens can be revoked, expire by the clock, and carry the scope they were issued for.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs

from servers import HOST, free_port, wait_for_port

MAIL_SCOPE = "https://mail.example.test/.default"


@dataclass
class Issued:
    user: str
    scope: str
    expires: float  # time.monotonic()
    revoked: bool = False


class OAuthServer:
    """One client (id and secret) acting for one mailbox user per token; a refresh token each
    user holds. `lifetime` is what expires_in says; `scope` what the mail servers require."""

    def __init__(self, client_id: str = "gateway-app", client_secret: str = "app-secret",
                 lifetime: float = 3600.0, scope: str = MAIL_SCOPE, port: int | None = None):
        self.client_id, self.client_secret = client_id, client_secret
        self.lifetime = lifetime
        self.scope = scope
        self.port = port or free_port()
        self.host = HOST
        self.app_user: str | None = None  # whom client-credentials tokens act for
        self.refresh_tokens: dict[str, str] = {}  # refresh token → user
        self.issued: dict[str, Issued] = {}
        self.requests: list[str] = []  # grant types asked, in order
        self.introspections = 0
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    token_url = property(lambda self: f"http://{self.host}:{self.port}/token")
    introspection_url = property(lambda self: f"http://{self.host}:{self.port}/introspect")

    def start(self) -> Self:
        if self._server is None:
            server = ThreadingHTTPServer((self.host, self.port), _handler(self))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._server = server
            wait_for_port(self.port, 5)
        return self

    def stop(self) -> None:
        """Stop answering: the token endpoint is unreachable until start()."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def add_refresh_token(self, user: str) -> str:
        token = f"rt-{secrets.token_urlsafe(16)}"
        self.refresh_tokens[token] = user
        return token

    def revoke_all(self) -> None:
        with self._lock:
            for issued in self.issued.values():
                issued.revoked = True

    def tokens_issued(self) -> list[str]:
        with self._lock:
            return list(self.issued)

    def accepts(self, user: str, token: str) -> bool:
        """Whether `token` is active, unexpired, for `user` and with the required scope."""
        answer = self.introspect(token)
        return bool(answer["active"]) and answer.get("username") == user

    def introspect(self, token: str) -> dict:
        with self._lock:
            self.introspections += 1
            issued = self.issued.get(token)
            if (issued is None or issued.revoked or time.monotonic() >= issued.expires
                    or self.scope not in issued.scope.split()):
                return {"active": False}
            return {"active": True, "username": issued.user, "scope": issued.scope}

    def grant(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict]:
        grant_type = form.get("grant_type", "")
        self.requests.append(grant_type)
        client = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if grant_type == "client_credentials":
            if client != (self.client_id, self.client_secret):
                return 401, {"error": "invalid_client", "error_description": "bad secret"}
            user, scope = self.app_user, form.get("scope", "")
        elif grant_type == "refresh_token":
            if client[0] != self.client_id:
                return 401, {"error": "invalid_client"}
            user = self.refresh_tokens.get(form.get("refresh_token", ""))
            scope = form.get("scope") or self.scope
            if user is None:
                return 400, {"error": "invalid_grant",
                             "error_description": "AADSTS70000: the refresh token was revoked"}
        else:
            return 400, {"error": "unsupported_grant_type"}
        if user is None:
            return 400, {"error": "invalid_request", "error_description": "no app user"}
        token = f"at-{next(self._numbers)}-{secrets.token_urlsafe(24)}"
        with self._lock:
            self.issued[token] = Issued(user, scope, time.monotonic() + self.lifetime)
        return 200, {"access_token": token, "token_type": "Bearer", "scope": scope,
                     "expires_in": self.lifetime}


def _handler(server: OAuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if self.path == "/token":
                status, answer = server.grant(form, _basic(self.headers.get("Authorization")))
            elif self.path == "/introspect":
                status, answer = 200, server.introspect(form.get("token", ""))
            else:
                status, answer = 404, {"error": "not_found"}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    return Handler


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password
