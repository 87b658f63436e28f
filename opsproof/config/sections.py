"""Sections of what to check and maintain on the target: disk, logs, temp, backups, health, services, monitoring."""
from __future__ import annotations

import posixpath
from datetime import timedelta
from typing import Any, Literal, Optional, Union

from pydantic import ConfigDict, Field, field_validator, model_validator

from .base import Duration, http_url, parse_duration
from .judgement import warn_band
from .section import Section


class Disk(Section):
    paths: list[str] = Field(min_length=1)
    max_used_percent: float = Field(85, ge=0, le=100)
    max_inodes_used_percent: float = Field(90, ge=0, le=100)
    forecast_min_days: float = Field(90, ge=0)
    forecast_window: Duration = timedelta(days=30)     # the recorded history the capacity forecast fits
    warn_used_percent: Optional[float] = Field(None, ge=0, le=100)   # warning levels: a warning never fails the run
    warn_inodes_used_percent: Optional[float] = Field(None, ge=0, le=100)
    warn_forecast_days: Optional[float] = Field(None, ge=0)

    _warn = warn_band("warn_used_percent", "warn_inodes_used_percent", "warn_forecast_days")


class Rotate(Section):
    files: list[str] = Field(min_length=1)
    max_size_mb: float = Field(100, gt=0)
    keep: int = Field(7, ge=1)
    compress: bool = True
    every: Optional[str] = None
    postrotate: Optional[str] = None
    copytruncate: bool = False
    su: Optional[str] = None                        # "user group": logrotate's su, for group/world-writable log dirs
    reopen_timeout_s: float = Field(10, gt=0, le=600)  # how long the writer may take to let go of NAME.1

    @field_validator("every")
    @classmethod
    def _every(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and logrotate_period(value) is None:
            raise ValueError("logrotate rotates by time hourly (1h), daily (1d), weekly (7d), monthly (30d) "
                             "or yearly (365d)")
        return value

    @field_validator("files")
    @classmethod
    def _quotable(cls, value: list[str]) -> list[str]:
        for item in value:
            if any(c in item for c in '"\n{}'):
                raise ValueError(f"{item!r}: a log path may not contain quotes, braces or newlines")
        return value


def logrotate_period(every: str) -> Optional[str]:
    """logrotate's word for a rotation period (1d -> daily), or None when logrotate has none."""
    try:
        seconds = parse_duration(every).total_seconds()
    except ValueError:
        return None
    return {3600: "hourly", 86400: "daily", 604800: "weekly", 2592000: "monthly", 31536000: "yearly"}.get(int(seconds))


class Logs(Section):
    error_log: str
    error_pattern: str = "ERROR|CRITICAL|FATAL"
    max_new_errors: int = Field(0, ge=0)
    show_lines: int = Field(20, ge=0, le=1000)
    since: Literal["acknowledged", "last_run"] = "acknowledged"   # when counted errors stop being counted
    rotate: Optional[Rotate] = None

    @field_validator("error_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a Python regular expression ({exc}); nginx's [error] is written \\[error\\]")
        return value


class Temp(Section):
    dirs: list[str] = Field(min_length=1)
    max_age_days: float = Field(7, gt=0)
    remove_empty_dirs: bool = True
    exclude: list[str] = [".gitkeep", ".keep"]     # file-name globs never removed

    @field_validator("dirs")
    @classmethod
    def _inside(cls, value: list[str]) -> list[str]:
        for item in value:
            if ".." in item.split("/"):
                raise ValueError(f"{item!r}: '..' is not allowed in a temp dir: name the directory itself")
            if posixpath.normpath(item) in ("/", ".", ""):
                raise ValueError(f"{item!r} is the filesystem root or the service root, not a temp dir")
        return value


class Database(Section):
    engine: Literal["sqlite", "postgresql"]
    path: Optional[str] = None
    dsn: Optional[str] = None

    @model_validator(mode="after")
    def _needs_location(self) -> "Database":
        if self.engine == "sqlite" and not self.path:
            raise ValueError("engine sqlite needs path")
        if self.engine == "postgresql" and not self.dsn:
            raise ValueError("engine postgresql needs dsn")
        return self


class SmokeQuery(Section):
    sql: str
    expect: Any = None


class Restore(Section):
    rto_minutes: float = Field(30, gt=0)
    rpo_hours: float = Field(24, gt=0)
    smoke_queries: list[Union[str, SmokeQuery]] = []
    dsn: Optional[str] = None
    scratch_dir: Optional[str] = None       # where the drill extracts; default: the target's temp folder


class Backups(Section):
    dir: str
    pattern: str = Field(min_length=1)
    max_age_hours: float = Field(26, gt=0)
    warn_age_hours: Optional[float] = Field(None, gt=0)
    premaintenance_max_age_minutes: float = Field(60, gt=0)  # premaintenance: a backup this fresh
    keep: int = Field(14, ge=1)
    min_size_bytes: int = Field(1024, ge=0)
    min_size_ratio: float = Field(0.5, ge=0, le=1)
    timeout_s: float = Field(3600, gt=0)    # bounds one backup, one verification, one restore drill
    database: Optional[Database] = None
    restore: Restore = Restore()

    _warn = warn_band("warn_age_hours")

    @field_validator("pattern")
    @classmethod
    def _plain_glob(cls, value: str) -> str:
        if "/" in value:
            raise ValueError("a file-name glob without '/': put the folder in backups.dir")
        return value


class Endpoint(Section):
    url: str
    name: Optional[str] = None
    status: int = Field(200, ge=100, le=599)
    json_: Optional[dict[str, Any]] = Field(None, alias="json")
    contains: Optional[str] = None
    max_latency_ms: float = Field(1000, gt=0)
    warn_latency_ms: Optional[float] = Field(None, gt=0)
    timeout_s: float = Field(5, gt=0, le=300)
    retries: int = Field(0, ge=0, le=10)
    retry_delay_s: float = Field(1, ge=0, le=60)
    headers: dict[str, str] = {}
    verify_tls: bool = True

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)
    _warn = warn_band("warn_latency_ms")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        return http_url(value)

    def item_key(self, index: int) -> str:
        return self.label                       # health[api].max_latency_ms

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or ''}{parts.path}".replace(":/", "/")


class Services(Section):
    processes: list[str] = []
    ports: list[int] = []

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        for port in value:
            if not 0 < port < 65536:
                raise ValueError(f"port {port} is outside 1..65535")
        return value


class Monitoring(Section):
    url: str
    timeout_s: float = Field(5, gt=0, le=300)
    status: int = Field(200, ge=100, le=599)
    contains: Optional[str] = None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        return http_url(value)
