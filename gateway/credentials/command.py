"""Tokens printed by a command of the site's own tooling (`token_command`)."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.credentials.token import AccessToken, token_from_output
from gateway.errors import TokenError


@dataclass(frozen=True)
class TokenCommand:
    setting: str  # "mailbox" or "smtp"
    command: str
    timeout: float = 30.0
    clock: Callable[[], float] = time.monotonic

    name = "token_command"

    def __call__(self) -> AccessToken:
        where = f"{self.setting}.token_command"
        try:
            done = subprocess.run(shlex.split(self.command), capture_output=True,
                                  timeout=self.timeout, check=False, stdin=subprocess.DEVNULL)
        except FileNotFoundError as exc:
            raise TokenError(f"{where}: program not found: {exc.filename}") from None
        except subprocess.TimeoutExpired:
            raise TokenError(f"{where}: gave no token within {self.timeout:g} s") from None
        except OSError as exc:
            raise TokenError(f"{where}: cannot run it: {exc.strerror}") from None
        if done.returncode != 0:
            # Its stderr says why; its stdout may hold a token and is never shown.
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise TokenError(f"{where}: exited with {done.returncode}"
                             + (f": {said[-1][:200]}" if said else ""))
        try:
            return token_from_output(done.stdout.decode("utf-8", "replace"), self.clock())
        except ValueError as exc:
            raise TokenError(f"{where}: {exc}") from None
