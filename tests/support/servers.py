"""Real servers on 127.0.0.1 for tests and benchmarks: a private Dovecot and an SMTP capture."""

from __future__ import annotations

import atexit
import base64
import email
import email.policy
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Self

from aiosmtpd.controller import Controller
from imapclient import IMAPClient

HOST = "127.0.0.1"
DOVECOT_CANDIDATES = ("dovecot", "/usr/sbin/dovecot")
DOVECOT_USERS = ("dovecot", "dovenull")
FOLDERS = ("Processed", "Quarantine")  # created on first login, next to INBOX
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*@[A-Za-z0-9.-]+")
_APPENDUID = re.compile(rb"APPENDUID (\d+) (\d+)")


def require(reason: str | None) -> None:
    """Skip when a server is missing; under CI=true a missing server is a failure instead."""
    if reason is None:
        return
    import pytest  # only tests call this; the benchmarks import this module without pytest

    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A port nobody listens on right now (the usual small race is acceptable in tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float, *, open_: bool = True) -> bool:
    """Wait until `port` accepts connections (or, with open_=False, until it refuses them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(port) == open_:
            return True
        time.sleep(0.02)
    return False


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def dovecot_binary() -> str | None:
    for candidate in DOVECOT_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def dovecot_available() -> str | None:
    """None when a private Dovecot can run here, else the reason it cannot."""
    if dovecot_binary() is None:
        return "dovecot not installed (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "a private Dovecot needs root here (mail processes run as user dovecot)"
    for user in DOVECOT_USERS:
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"system user {user!r} missing (the dovecot-core package creates it)"
    return None


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    user: str
    password: str = field(repr=False)

    def connect(self, timeout: float = 10.0) -> IMAPClient:
        """A logged-in plaintext client; the caller logs out."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> int:
        """Append one mail over a short-lived connection and return its UID."""
        with self.connect() as client:
            return append_uid(client.append(folder, raw, flags=flags))


def append_uid(response: bytes) -> int:
    """The UID from an APPEND answer (Dovecot announces UIDPLUS, so APPENDUID is there)."""
    match = _APPENDUID.search(response)
    if not match:
        raise ValueError(f"no APPENDUID in {response!r}")
    return int(match.group(2))


class Dovecot:
    """A private Dovecot: its own config, users, mail and port under `base_dir`."""

    def __init__(self, base_dir: Path, users: dict[str, str] | None = None,
                 port: int | None = None, tls: tuple[Path, Path] | None = None,
                 introspection_url: str | None = None):
        self.base_dir = Path(base_dir)
        # XOAUTH2/OAUTHBEARER logins checked by POSTing the token to this URL (RFC 7662).
        self.introspection_url = introspection_url
        self.users = dict(users or {})
        self.port = port or free_port()
        self.tls = tls  # (certificate, key): STARTTLS on `port` and implicit TLS on `ssl_port`
        self.ssl_port = free_port() if tls else 0
        self.host = HOST
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._exit_hook = False

    config_path = property(lambda self: self.base_dir / "dovecot.conf")
    log_path = property(lambda self: self.base_dir / "dovecot.log")
    output_path = property(lambda self: self.base_dir / "dovecot.out")  # errors before logging
    users_dir = property(lambda self: self.base_dir / "users")
    oauth2_path = property(lambda self: self.base_dir / "oauth2.conf.ext")
    mail_root = property(lambda self: self.base_dir / "mail")
    run_dir = property(lambda self: self.base_dir / "run")

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def maildir(self, user: str) -> Path:
        return self.mail_root / user

    def account(self, user: str) -> ImapAccount:
        return ImapAccount(self.host, self.port, user, self.users[user])

    def add_user(self, user: str, password: str) -> ImapAccount:
        """Add a login; Dovecot rereads its passwd-file when it changes, so no restart."""
        with self._lock:
            self.users[user] = password
            self._write_users()
        return self.account(user)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def start(self, timeout: float = 15.0) -> Self:
        if self.is_running:
            return self
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError(dovecot_available())
        self._prepare()
        # -F keeps the master our own child, so stop() ends exactly this process by its id.
        # Output goes to a file, never to our pipes: a runner waiting on them would hang.
        with self.output_path.open("wb") as output:
            self._process = subprocess.Popen(
                [binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not self._exit_hook:
            atexit.register(self.stop)  # a crashed test run must not leave Dovecot behind
            self._exit_hook = True
        if not self._wait_started(timeout):
            self.stop()
            raise RuntimeError(f"dovecot did not start on port {self.port}:\n{self._log_tail()}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        # The group is this Dovecot alone (start_new_session): its imap processes would
        # otherwise outlive the master and keep serving the connections a test wants dropped.
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout)
        # Login processes share the listening socket; wait until it is really closed.
        wait_for_port(self.port, timeout, open_=False)

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def _wait_started(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if _port_open(self.port):
                return True
            time.sleep(0.02)
        return False

    def _prepare(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        # Mail processes run as `dovecot` and must be able to walk down to their Maildir.
        self.base_dir.chmod(0o755)
        _require_traversable(self.base_dir)
        dovecot = pwd.getpwnam("dovecot")
        self.mail_root.mkdir(exist_ok=True)
        os.chown(self.mail_root, dovecot.pw_uid, dovecot.pw_gid)
        (self.run_dir / "master.pid").unlink(missing_ok=True)
        self._write_users()
        if self.introspection_url:
            self.oauth2_path.write_text(
                f"introspection_url = {self.introspection_url}\nintrospection_mode = post\n"
                "username_attribute = username\nactive_attribute = active\n"
                "active_value = true\n", encoding="utf-8")
        self.config_path.write_text(self._config(), encoding="utf-8")

    def _write_users(self) -> None:
        # One passwd-file per user: Dovecot rereads a changed file at most once a second, but
        # opens a new path at once, so a user added mid-session can log in immediately.
        self.users_dir.mkdir(exist_ok=True)
        for user, password in self.users.items():
            _check_user_name(user)
            path = self.users_dir / user
            tmp = path.with_name(f".{user}.tmp")
            tmp.write_text(f"{user}:{{PLAIN}}{password}\n", encoding="utf-8")
            tmp.replace(path)  # whole file at once: auth must never read half of it

    def _config(self) -> str:
        mailboxes = "".join(
            f"  mailbox {name} {{\n    auto = create\n  }}\n" for name in FOLDERS
        )
        return f"""\
# Written by tests/support/servers.py; self-contained, never includes /etc/dovecot.
base_dir = {self.run_dir}
state_dir = {self.base_dir / "state"}
log_path = {self.log_path}
protocols = imap
listen = {HOST}
{self._ssl_settings()}
disable_plaintext_auth = no
auth_mechanisms = plain login{" xoauth2 oauthbearer" if self.introspection_url else ""}
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
mail_location = maildir:{self.mail_root}/%u
# Tests wait for IDLE notifications; inotify normally makes them instant anyway.
mailbox_idle_check_interval = 1 secs
imap_id_log = *
{self._oauth2_passdb()}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_dir}/%u
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={self.mail_root}/%u
}}
namespace inbox {{
  inbox = yes
{mailboxes}}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.ssl_port}
  }}
}}
"""

    def _oauth2_passdb(self) -> str:
        if not self.introspection_url:
            return ""
        # A refused token is answered at once, and refusals bring 127.0.0.1 no growing
        # penalty (anvil's): tests refuse many on purpose.
        return ("auth_failure_delay = 0\nservice anvil {\n  unix_listener anvil-auth-penalty {\n"
                "    mode = 0\n  }\n}\n"
                f"passdb {{\n  driver = oauth2\n"
                f"  mechanisms = xoauth2 oauthbearer\n  args = {self.oauth2_path}\n}}\n")

    def _ssl_settings(self) -> str:
        if self.tls is None:
            return "ssl = no"
        cert, key = self.tls
        return f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\nssl_min_protocol = TLSv1.2"

    def _log_tail(self, lines: int = 20) -> str:
        early = self.output_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join((early + self.log_text()).splitlines()[-lines:])


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _check_user_name(user: str) -> None:
    if not _USER_NAME.fullmatch(user):
        raise ValueError(f"test user names are plain addresses, not {user!r}")


def _require_traversable(path: Path) -> None:
    for folder in (path, *path.parents):
        if not folder.stat().st_mode & 0o001:
            raise RuntimeError(f"{folder} is not searchable by other users; put the Dovecot "
                               "folder somewhere like /tmp (tempfile.mkdtemp)")


@dataclass(frozen=True)
class CapturedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    received: float  # time.monotonic() when DATA completed


class SmtpCapture:
    """An aiosmtpd server in a thread that keeps every mail it accepts."""

    def __init__(self, port: int | None = None, credentials: tuple[str, str] | None = None,
                 xoauth2: Callable[[str, str], bool] | None = None, **controller_options):
        self.host = HOST
        # (user, token) -> accepted: AUTH XOAUTH2 required, checked like the provider would.
        self.xoauth2 = xoauth2
        self.xoauth2_refused = 0
        self.port = port or free_port()
        self.credentials = credentials  # (user, password): AUTH required, over plaintext too
        self._options = controller_options  # e.g. ssl_context or tls_context for TLS tests
        self.refused = 0  # DATA commands answered with the forced code
        self.refused_recipients: set[str] = set()  # RCPT TO answered with 550
        self.sizes: list[int | None] = []  # SIZE announced in each MAIL FROM
        self.eight_bit = True  # False: EHLO does not announce 8BITMIME
        self.pipelining = True  # as Postfix, Exchange and the mail providers announce it
        self._messages: list[CapturedMail] = []
        self._cond = threading.Condition()
        self._forced: tuple[int, str] | None = None
        self._forced_left: int | None = None
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[CapturedMail]:
        with self._cond:
            return list(self._messages)

    @property
    def is_running(self) -> bool:
        return self._controller is not None

    def start(self) -> Self:
        if self._controller is None:
            auth = {} if self.credentials is None and self.xoauth2 is None else {
                "authenticator": self._authenticate, "auth_required": True,
                "auth_require_tls": False}
            handler = (_CaptureHandler if self.xoauth2 is None else _XOAuth2Handler)(self)
            controller = Controller(handler, hostname=self.host, port=self.port,
                                    enable_SMTPUTF8=True, **auth, **self._options)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = self.credentials is not None and isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        return AuthResult(success=ok)

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()
            self.refused = 0

    def respond_with(self, code: int, text: str | None = None, times: int | None = None) -> None:
        """Answer DATA with `code` (e.g. 451, 550), for `times` mails or until accept_all()."""
        self._forced = (code, text or ("Try again later" if code < 500 else "Rejected"))
        self._forced_left = times

    def accept_all(self) -> None:
        self._forced, self._forced_left = None, None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[CapturedMail]:
        """Block until at least `count` mails arrived; TimeoutError says how many did."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(f"expected {count} mail(s), got {len(self._messages)}")
            return list(self._messages)

    def _answer(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> str:
        with self._cond:
            forced = self._take_forced()
            if forced is not None:
                self.refused += 1
                return f"{forced[0]} {forced[1]}"
            message = email.message_from_bytes(raw, policy=email.policy.default)
            self._messages.append(
                CapturedMail(mail_from, tuple(rcpt_tos), raw, message, time.monotonic())
            )
            self._cond.notify_all()
            return "250 OK"

    def _take_forced(self) -> tuple[int, str] | None:
        forced = self._forced
        if forced is not None and self._forced_left is not None:
            self._forced_left -= 1
            if self._forced_left <= 0:
                self.accept_all()
        return forced

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def announced(responses: list[str], *, eight_bit: bool = True, pipelining: bool = True
              ) -> list[str]:
    """aiosmtpd's EHLO lines, with PIPELINING (RFC 2920) added or 8BITMIME taken out.

    aiosmtpd reads commands one line at a time and answers each in order, which is all
    PIPELINING asks of a server; it just does not say so.
    """
    lines = [r for r in responses if eight_bit or "8BITMIME" not in r]
    if pipelining:
        lines.insert(len(lines) - 1, "250-PIPELINING")
    return lines


class _CaptureHandler:
    def __init__(self, capture: SmtpCapture):
        self._capture = capture

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        session.host_name = hostname
        return announced(responses, eight_bit=self._capture.eight_bit,
                         pipelining=self._capture.pipelining)

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        size = next((o.partition("=")[2] for o in mail_options if o.upper().startswith("SIZE=")),
                    None)
        self._capture.sizes.append(int(size) if size else None)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self._capture.refused_recipients:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        return self._capture._answer(envelope.mail_from, envelope.rcpt_tos, envelope.content)



class _XOAuth2Handler(_CaptureHandler):
    """AUTH XOAUTH2 as Exchange Online and Gmail take it: the SASL string with the initial
    response, "user=…\\x01auth=Bearer …\\x01\\x01" in base64; 535 when the token is refused."""

    async def auth_XOAUTH2(self, server, args):  # aiosmtpd finds it by this name
        from aiosmtpd.smtp import AuthResult

        capture = self._capture
        try:
            fields = dict(part.split("=", 1) for part in
                          base64.b64decode(args[1]).decode().split("\x01") if part)
            user, token = fields["user"], fields["auth"].removeprefix("Bearer ")
        except (IndexError, ValueError, KeyError):
            return AuthResult(success=False, handled=False,
                              message="501 5.5.2 Cannot decode the XOAUTH2 response")
        if capture.xoauth2 is not None and capture.xoauth2(user, token):
            return AuthResult(success=True, auth_data=user)
        capture.xoauth2_refused += 1
        return AuthResult(success=False, handled=False,
                          message="535 5.7.3 Authentication unsuccessful")
