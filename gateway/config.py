"""Typed settings: the TOML file and the environment are read here and nowhere else."""

from __future__ import annotations

import logging
import os
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway import shipped
from gateway.config_jobs import (
    AutoReplySettings,
    DatabaseSettings,
    HealthSettings,
    LoggingSettings,
    MetricsSettings,
    ReloadSettings,
    ReportSettings,
)
from gateway.config_login import LoginSettings
from gateway.deadlines.duration import Duration, Unit, parse_duration
from gateway.deadlines.policy import DeadlinePolicy
from gateway.errors import ConfigError
from gateway.faults import FaultRule, parse_faults
from gateway.im_settings import ImSettings

log = logging.getLogger(__name__)

CONFIG_ENV = "GATEWAY_CONFIG"
FAULTS_ENV = "GATEWAY_FAULTS"  # tests only: crash points, e.g. "after_commit:0.1,after_move:3"

TlsMode = Literal["none", "starttls", "ssl"]


def _duration(value: object) -> Duration:
    return value if isinstance(value, Duration) else parse_duration(value)


def _zone(value: object) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None


def _deadlines(value: object) -> DeadlinePolicy:
    if isinstance(value, DeadlinePolicy):
        return value
    if not isinstance(value, dict):
        raise ValueError("expected a table of urgencies, e.g. [deadlines.urgent]")
    return DeadlinePolicy.from_mapping(value)  # its errors name the key: deadlines.urgent.…


def _faults(value: object) -> tuple[FaultRule, ...]:
    return value if isinstance(value, tuple) else parse_faults(str(value))


# Settings written as text are read once, at load, into the values the code uses; a wrong one
# is a ValueError that _validate turns into one line naming the key.
DurationSetting = Annotated[Duration, PlainValidator(_duration)]  # "3 working days", "24小时"
ZoneSetting = Annotated[ZoneInfo, PlainValidator(_zone)]  # "Asia/Shanghai"
DeadlinesSetting = Annotated[DeadlinePolicy, PlainValidator(_deadlines)]  # over the defaults
FaultsSetting = Annotated[tuple[FaultRule, ...], PlainValidator(_faults)]  # "after_commit:0.1"


class _Section(BaseModel):
    # Unknown keys are typos more often than not; refuse them so admins learn at load time.
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Credentials(_Section, LoginSettings):
    user: str | None = None
    password_env: str | None = None
    password_file: Path | None = None

    def password(self, section: str) -> SecretStr | None:
        """Read the secret from the environment or a file; never from the TOML itself."""
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(
                    f"{section}.password_env: environment variable {self.password_env} is not set"
                )
            return SecretStr(value)
        if self.password_file:
            try:
                return SecretStr(self.password_file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ConfigError(
                    f"{section}.password_file: cannot read {self.password_file}: {exc.strerror}"
                ) from None
        return None


class MailboxSettings(_Credentials):
    kind: Literal["imap", "maildir"] = "maildir"
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: TlsMode = "ssl"
    ca_file: Path | None = None
    folder: str = "INBOX"
    processed_folder: str | None = "Processed"
    quarantine_folder: str = "Quarantine"
    idle: bool = True
    poll_interval: float = Field(default=30.0, gt=0)
    send_id: bool = False
    path: Path | None = None
    max_size_mb: float = Field(default=25.0, gt=0)
    batch: int = Field(default=200, ge=1, le=5000)

    @field_validator("processed_folder")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _complete(self) -> MailboxSettings:
        if self.kind == "imap" and not self.user:
            raise ValueError("user is required when kind = 'imap'")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.tls == "ssl" else 143)

    @property
    def max_size(self) -> int:
        """max_size_mb in bytes: what the source compares RFC822.SIZE with."""
        return int(self.max_size_mb * 1024 * 1024)


class SmtpSettings(_Credentials):
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: TlsMode = "starttls"
    ca_file: Path | None = None
    from_: str = Field(default="gateway@localhost", alias="from")
    timeout: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=12, ge=1)
    backoff_initial: float = Field(default=30.0, gt=0)
    backoff_max: float = Field(default=3600.0, gt=0)
    connections: int = Field(default=4, ge=1, le=32)
    # UTF-8 text parts as 8bit (RFC 6152 8BITMIME) rather than base64: a third smaller and
    # readable in the stored raw mail. Set false for a relay that does not announce 8BITMIME.
    eight_bit: bool = True

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.tls]


class GatewaySettings(_Section):
    name: str = "信息交流网关"
    domain: str = "gateway.localhost"
    internal_domains: tuple[str, ...] = ()
    timezone: ZoneSetting = ZoneInfo("Asia/Shanghai")
    rules_dir: Path = Field(default_factory=shipped.rules_dir)  # unset: the shipped rules
    templates_dir: Path = Field(default_factory=shipped.templates_dir)
    storage_dir: Path = Path("storage")
    admin_address: str | None = None
    signature: str = ""
    trusted_authserv_id: str | None = None  # Authentication-Results from this MTA count
    admins: tuple[str, ...] = ()  # addresses that may change any record by mail

    @field_validator("internal_domains", "admins")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d.strip().lower() for d in value)

    @field_validator("admins")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for addr in value:
            if "@" not in addr or " " in addr:
                raise ValueError(f"admins: {addr!r} is not a mail address")
        return value


class CalendarSettings(_Section):
    business_start: time = time(9, 0)
    business_end: time = time(18, 0)
    lunch_start: time | None = None
    lunch_end: time | None = None
    days_off: tuple[date, ...] = ()  # dates the company does not work
    workdays: tuple[date, ...] = ()  # dates the company works although off by the calendar


class ChaseSettings(_Section):
    """[chase]: reminders before a deadline, escalation at breach, follow-ups after it."""

    remind_at: float = Field(default=0.75, gt=0, lt=1)  # share of the time to the deadline
    quiet_hours: bool = True  # wait for business hours, except for 特急
    max_follow_ups: int = Field(default=30, ge=0)
    cadence: dict[str, DurationSetting] = {}  # urgency → "1 working day" / "4 working hours"

    @field_validator("cadence")
    @classmethod
    def _known_urgencies(cls, value: dict[str, Duration]) -> dict[str, Duration]:
        for urgency in value:
            if urgency not in ("normal", "urgent", "critical"):
                raise ValueError(f"unknown urgency {urgency!r}; expected normal, urgent, critical")
        return value


class ClosedLoopSettings(_Section):
    """[loop]: the closed loop by mail (闭环): closure wait and the internal-note address."""

    close_after: DurationSetting = Duration(5, Unit.WORKING_DAYS)  # resolved, unrated: closes
    note_tag: str = "note"  # gateway+note@… takes internal remarks

    @field_validator("note_tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        tag = value.strip().lower()
        if not tag or not tag.replace("-", "").replace("_", "").isalnum() or not tag.isascii():
            raise ValueError("note_tag must be a plain word such as 'note'")
        return tag


class OutboundSettings(_Section):
    """[outbound]: messages the enterprise starts (发起 → 审核 → 传递)."""

    cc_sender: bool = True  # the sender is copied on the message as it goes out
    # urgency → how long an approver may take (seed 003: 普通 1 working day, 紧急 2 hours,
    # 特急 at once); silence past it is escalated.
    approval_deadlines: dict[Literal["normal", "urgent", "critical"], DurationSetting] = {}



class ArchiveSettings(_Section):
    delay: DurationSetting = Duration(2, Unit.WORKING_DAYS)  # after closing, before archiving
    default_class: Literal["ordinary", "important", "classified"] = "ordinary"
    # Years a class is kept after archiving; a class not listed is never purged automatically.
    retention_years: dict[Literal["ordinary", "important", "classified"], int] = {
        "ordinary": 1, "important": 5,
    }
    purge_at: time = time(3, 0)  # local time of the daily scheduled purge


class Settings(_Section):
    gateway: GatewaySettings = GatewaySettings()
    mailbox: MailboxSettings = MailboxSettings()
    smtp: SmtpSettings = SmtpSettings()
    database: DatabaseSettings = DatabaseSettings()
    deadlines: DeadlinesSetting = Field(default_factory=DeadlinePolicy.default)
    calendar: CalendarSettings = CalendarSettings()
    chase: ChaseSettings = ChaseSettings()
    loop: ClosedLoopSettings = ClosedLoopSettings()
    logging: LoggingSettings = LoggingSettings()
    reload: ReloadSettings = ReloadSettings()
    archive: ArchiveSettings = ArchiveSettings()
    reports: ReportSettings = ReportSettings()
    metrics: MetricsSettings = MetricsSettings()
    auto_reply: AutoReplySettings = AutoReplySettings()
    health: HealthSettings = HealthSettings()
    im: ImSettings = ImSettings()  # [[im.channel]]: group-chat robots for alerts
    outbound: OutboundSettings = OutboundSettings()
    groups: dict[str, str] = {}  # [groups]: 全体员工 = "all@corp.example", name → list address
    faults: FaultsSetting = ()  # from $GATEWAY_FAULTS only, e.g. "after_commit:0.1,after_move:3"
    source: Path | None = None  # the file these came from, for messages

    @property
    def tz(self) -> ZoneInfo:
        return self.gateway.timezone

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.gateway.storage_dir / 'gateway.sqlite3'}"

    @property
    def maildir_path(self) -> Path:
        return self.mailbox.path or self.gateway.storage_dir / "mailbox"


_RELATIVE_PATHS = (
    ("gateway", "rules_dir"),
    ("gateway", "templates_dir"),
    ("gateway", "storage_dir"),
    ("mailbox", "path"),
    ("mailbox", "password_file"),
    ("mailbox", "ca_file"),
    ("smtp", "password_file"),
    ("smtp", "ca_file"),
    *((section, key) for section in ("mailbox", "smtp")
      for key in ("client_secret_file", "refresh_token_file")),
    ("metrics", "textfile"),
)


def load_settings(path: Path | None = None, *, overrides: dict[str, Any] | None = None) -> Settings:
    """Load and validate settings from `path`, $GATEWAY_CONFIG, or the built-in defaults."""
    if path is None and os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_toml(path)
        _resolve_paths(data, path.resolve().parent)
    data.pop("faults", None)  # a crash switch never lives in a config file
    if os.environ.get(FAULTS_ENV):
        data["faults"] = os.environ[FAULTS_ENV]
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    _rename_loops(data, path)
    return _validate(data, path)


# [loops] was the auto-reply cap's section before [auto_reply]; its keys, renamed.
_LOOPS_KEYS = {"auto_reply_limit": "limit", "auto_reply_window_minutes": "window_minutes"}


def _rename_loops(data: dict[str, Any], path: Path | None) -> None:
    """Read an existing deployment's [loops] as [auto_reply], with a warning to rename it."""
    old = data.pop("loops", None)
    if old is None:
        return
    where = f"{path}: " if path else ""
    if "auto_reply" in data:
        raise ConfigError(f"{where}loops: replaced by [auto_reply]; keep only [auto_reply]")
    log.warning("%s[loops] is deprecated: rename it [auto_reply], with auto_reply_limit → limit "
                "and auto_reply_window_minutes → window_minutes", where)
    data["auto_reply"] = ({_LOOPS_KEYS.get(k, k): v for k, v in old.items()}
                          if isinstance(old, dict) else old)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Relative paths in a config file mean relative to that file, not to the caller's cwd."""
    for section, key in _RELATIVE_PATHS:
        value = data.get(section, {}).get(key)
        if isinstance(value, str) and not Path(value).is_absolute():
            data[section][key] = str(base / value)
    for channel in data.get("im", {}).get("channel", []) if isinstance(data.get("im"), dict) else ():
        value = channel.get("secret_file") if isinstance(channel, dict) else None
        if isinstance(value, str) and not Path(value).is_absolute():
            channel["secret_file"] = str(base / value)
    url = data.get("database", {}).get("url")
    if isinstance(url, str) and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            data["database"]["url"] = f"sqlite:///{base / relative}"


def _validate(data: dict[str, Any], path: Path | None) -> Settings:
    where = f"{path}: " if path else ""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        elif "input" in error and not isinstance(error["input"], dict):
            message += f" (got {error['input']!r})"
        line = message if message.startswith(f"{key}.") else f"{key}: {message}"
        raise ConfigError(f"{where}{line}") from None
    return settings.model_copy(update={"source": path})
