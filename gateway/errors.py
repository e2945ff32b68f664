"""The gateway's typed errors; the CLI turns each into one line and an exit code."""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    exit_code = 1


class ConfigError(GatewayError):
    """A setting is missing or wrong; the message names the key."""

    exit_code = 78  # EX_CONFIG


class RuleError(GatewayError):
    """One or more rule files do not validate."""

    exit_code = 65  # EX_DATAERR

    def __init__(self, problems: list["RuleProblem"]):  # noqa: F821 - routing/ruleset.py
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ParseError(GatewayError):
    """A mail could not be parsed at all; it goes to quarantine."""

    exit_code = 65


class TemplateError(GatewayError):
    """A template is missing or fails to render."""


class MailboxError(GatewayError):
    """The mailbox could not be reached or refused a command."""

    exit_code = 69  # EX_UNAVAILABLE


class SmtpTemporaryError(GatewayError):
    """SMTP failed in a way worth retrying (connection, 4xx)."""

    exit_code = 75  # EX_TEMPFAIL


class SmtpPermanentError(GatewayError):
    """SMTP refused for good (5xx); the outbox row is dead-lettered."""


class StorageError(GatewayError):
    """The database could not store or read what was asked."""

    exit_code = 74  # EX_IOERR


class StorageUnavailable(StorageError):
    """The database is locked, away or refused the connection: worth trying again later."""


class Duplicate(StorageError):
    """The database refused a row that breaks a constraint: in practice a second copy of
    something unique (a Message-ID stored twice, a notice two runs both claimed)."""


class NotFound(GatewayError):
    """A record or mail asked for by id does not exist."""

    exit_code = 2


class UsageError(GatewayError):
    """A command-line value that cannot be read (a date, a time, a period)."""

    exit_code = 64  # EX_USAGE


class ArchiveError(GatewayError):
    """An archive action cannot be done as asked (unknown class, nothing to export)."""

    exit_code = 65


class ImportProblem(GatewayError):
    """A directory import file cannot be read or would not validate."""

    exit_code = 65


class NotInstalled(GatewayError):
    """An optional part is missing: a package extra or a system program; the message says how
    to install it."""

    exit_code = 69  # EX_UNAVAILABLE

    @classmethod
    def extra(cls, extra: str, who_needs: str) -> NotInstalled:
        """`who_needs` ends in its verb: "report charts need", "the demo needs"."""
        return cls(f"{who_needs} the '{extra}' extra: pip install 'mail-gateway[{extra}]'")

    @classmethod
    def program(cls, program: str, package: str, who_needs: str) -> NotInstalled:
        return cls(f"{who_needs} the {program} program: apt-get install {package}")


class CannotWrite(GatewayError):
    """A file the command should write exists already (and --force was not given), or cannot
    be created."""

    exit_code = 73  # EX_CANTCREAT


class TokenError(GatewayError):
    """No OAuth2 access token could be had (endpoint away, refused, command failed); the
    message names the setting to look at and never holds a token."""

    exit_code = 69  # EX_UNAVAILABLE


class SmtpLoginError(SmtpTemporaryError):
    """The SMTP server refused the login, or no token could be had for it: the mails wait
    (however long) until the login works again; they are never dead-lettered for it."""


class AlreadyRunning(GatewayError):
    """Another daemon already runs on this single-node (SQLite) database."""

    exit_code = 75  # EX_TEMPFAIL
