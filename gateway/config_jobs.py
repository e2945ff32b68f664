"""Typed settings of the operating sections: [database], [auto_reply], [health], [logging],
[reload], [reports] and [metrics]. `gateway.config` reads the file and gathers them."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    # Unknown keys are typos more often than not; refuse them so admins learn at load time.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(Section):
    url: str | None = None  # None: SQLite file under storage_dir
    busy_timeout: float = Field(default=30.0, gt=0)  # seconds SQLite waits for a lock


class AutoReplySettings(Section):
    """[auto_reply]: how many automatic answers one address may get, so two robots stop."""

    limit: int = Field(default=5, ge=0)  # automatic answers per address and window; 0: none
    window_minutes: float = Field(default=60.0, gt=0)


class HealthSettings(Section):
    outbox_stuck_minutes: float = Field(default=60.0, gt=0)  # oldest pending mail older: stuck
    timeout: float = Field(default=10.0, gt=0)  # seconds per server probe


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class ReloadSettings(Section):
    enabled: bool = True
    interval: float = Field(default=5.0, gt=0)  # seconds between looks at rule/template files


class ReportSettings(Section):
    recipients: tuple[str, ...] = ()  # managers who get the 效果评估 report by mail
    schedule: tuple[Literal["weekly", "monthly", "quarterly"], ...] = ()
    format: Literal["html", "xlsx"] = "html"
    send_at: time = time(8, 0)  # local time on Monday / the 1st / the quarter's 1st


class MetricsSettings(Section):
    textfile: Path | None = None  # Prometheus node-exporter textfile; None: no metrics file
