"""maintenance.yaml: the contract users write, validated into one immutable object.

A bad file raises ConfigError naming the file, the key path and what is wrong; nothing else
in the suite runs before this succeeds. Paths: `root` is relative to the config file's
directory, every other relative path is relative to `root` (made absolute here, once).
"""
from __future__ import annotations

import hashlib
import os
import posixpath
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

DEFAULT_NAME = "maintenance.yaml"
ENV_VAR = "OPSPROOF_CONFIG"
# Action names (DESIGN): routine ones run with --apply; window.gate may list any of them as disruptive.
ACTIONS = ("rotate-logs", "clean-temp", "backup", "restore-drill", "update-dependencies")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """A duration written 90m, 2h, 1h30m, 7d or 4w, as a timedelta (a bare number is ambiguous: refused)."""
    import re

    if isinstance(value, timedelta):
        return value
    text = str(value).strip().replace(" ", "")
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhdw])", text)
    if not text or not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not a duration such as 90m, 2h, 1h30m, 7d or 4w")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class ConfigError(Exception):
    """A configuration the suite cannot run with: file, key path, what is wrong, what to do."""

    def __init__(self, file: str, key: str, problem: str, hint: str = "") -> None:
        self.file, self.key, self.problem, self.hint = file, key, problem, hint
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + problem + (f" — {hint}" if hint else ""))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Percent = Field(ge=0, le=100)


class Disk(_Section):
    paths: list[str] = Field(min_length=1)
    max_used_percent: float = Field(85, ge=0, le=100)
    max_inodes_used_percent: float = Field(90, ge=0, le=100)
    forecast_min_days: float = Field(90, ge=0)


class Rotate(_Section):
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
        if value is not None and _logrotate_period(value) is None:
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


def _logrotate_period(every: str) -> Optional[str]:
    try:
        seconds = parse_duration(every).total_seconds()
    except ValueError:
        return None
    return {3600: "hourly", 86400: "daily", 604800: "weekly", 2592000: "monthly", 31536000: "yearly"}.get(int(seconds))


class Logs(_Section):
    error_log: str
    error_pattern: str = "ERROR|CRITICAL|FATAL"
    max_new_errors: int = Field(0, ge=0)
    show_lines: int = Field(20, ge=0, le=1000)
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


class Temp(_Section):
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


class Database(_Section):
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


class SmokeQuery(_Section):
    sql: str
    expect: Any = None


class Restore(_Section):
    rto_minutes: float = Field(30, gt=0)
    rpo_hours: float = Field(24, gt=0)
    smoke_queries: list[Union[str, SmokeQuery]] = []
    dsn: Optional[str] = None
    scratch_dir: Optional[str] = None       # where the drill extracts; default: the target's temp folder


class Backups(_Section):
    dir: str
    pattern: str = Field(min_length=1)
    max_age_hours: float = Field(26, gt=0)
    keep: int = Field(14, ge=1)
    min_size_bytes: int = Field(1024, ge=0)
    min_size_ratio: float = Field(0.5, ge=0, le=1)
    timeout_s: float = Field(3600, gt=0)    # bounds one backup, one verification, one restore drill
    database: Optional[Database] = None
    restore: Restore = Restore()

    @field_validator("pattern")
    @classmethod
    def _plain_glob(cls, value: str) -> str:
        if "/" in value:
            raise ValueError("a file-name glob without '/': put the folder in backups.dir")
        return value


class Endpoint(_Section):
    url: str
    name: Optional[str] = None
    status: int = Field(200, ge=100, le=599)
    json_: Optional[dict[str, Any]] = Field(None, alias="json")
    contains: Optional[str] = None
    max_latency_ms: float = Field(1000, gt=0)
    timeout_s: float = Field(5, gt=0, le=300)
    retries: int = Field(0, ge=0, le=10)
    retry_delay_s: float = Field(1, ge=0, le=60)
    headers: dict[str, str] = {}
    verify_tls: bool = True

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or ''}{parts.path}".replace(":/", "/")


class Services(_Section):
    processes: list[str] = []
    ports: list[int] = []

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        for port in value:
            if not 0 < port < 65536:
                raise ValueError(f"port {port} is outside 1..65535")
        return value


class Monitoring(_Section):
    url: str
    timeout_s: float = Field(5, gt=0, le=300)
    status: int = Field(200, ge=100, le=599)
    contains: Optional[str] = None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        return Endpoint._http(value)


class Window(_Section):
    rrule: str                                   # iCalendar RRULE, e.g. FREQ=MONTHLY;BYDAY=1SU
    start: str = "00:00"                         # HH:MM, or YYYY-MM-DD HH:MM to anchor INTERVAL rules
    duration: Duration = timedelta(hours=2)
    timezone: str = "UTC"
    horizon: Duration = timedelta(days=7)        # premaintenance: the next window opens within this
    gate: list[str] = []                         # more actions that may run only inside the window

    @field_validator("gate")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in ACTIONS:
                raise ValueError(f"unknown action {name!r}; actions are {', '.join(ACTIONS)}")
        return value

    @field_validator("rrule", "start", "timezone", "duration")
    @classmethod
    def _usable(cls, value: Any, info: Any) -> Any:
        from . import window as w

        try:
            if info.field_name == "rrule":
                w.parse_rule(value, "00:00")
            elif info.field_name == "start":
                w.anchor(value)
            elif info.field_name == "timezone":
                w.zone(value)
            elif value <= timedelta(0):
                raise w.WindowError("must be positive")
        except w.WindowError as exc:
            raise ValueError(str(exc))
        return value


class Notify(_Section):
    webhook: str
    timeout_s: float = Field(5, gt=0, le=60)
    selections: list[str] = ["premaintenance", "postmaintenance"]  # runs whose -m names one of these notify
    headers: dict[str, str] = {}                 # e.g. Authorization; their values are secrets

    @field_validator("webhook")
    @classmethod
    def _http(cls, value: str) -> str:
        return Endpoint._http(value)


class Docs(_Section):
    dir: str
    max_age_days: float = Field(31, gt=0)
    task: str = "documentation-review"           # an attestation of this task also counts as reviewed
    require_update: bool = False                 # postmaintenance: docs changed since maintenance started


class Attestations(_Section):
    file: str
    tasks: dict[str, Duration] = Field(min_length=1)  # task -> period, e.g. team-training: 31d


class SloSource(_Section):
    access_log: Optional[str] = None             # nginx combined + $request_time, or JSON lines (format: json)
    prometheus: Optional[str] = None             # base URL; queries go to /api/v1/query
    format: Literal["combined", "json"] = "combined"
    time_field: str = "time"                     # JSON lines: field names (dotted for nested objects)
    status_field: str = "status"
    duration_field: str = "request_time"
    duration_unit: Literal["s", "ms"] = "s"
    requests_metric: str = "http_requests_total"
    status_label: str = "code"
    latency_histogram: str = "http_request_duration_seconds"
    selector: str = ""                           # label matchers added to every default query, e.g. job="api"
    headers: dict[str, str] = {}                 # sent to Prometheus (e.g. Authorization); values are secrets
    timeout_s: float = Field(10, gt=0, le=300)

    @model_validator(mode="after")
    def _one(self) -> "SloSource":
        if bool(self.access_log) == bool(self.prometheus):
            raise ValueError("give exactly one of access_log (a file) or prometheus (a URL)")
        if self.prometheus:
            Endpoint._http(self.prometheus)
        return self


class Objective(_Section):
    name: str = Field(min_length=1)
    sli: Literal["availability", "latency"] = "availability"
    target: float = Field(gt=0, lt=100)          # percent of good requests over the window
    window: Duration = timedelta(days=30)        # rolling
    threshold_ms: Optional[float] = Field(None, gt=0)   # latency: a request is good when it took <= this
    bad_status: list[int] = []                   # statuses counted bad besides 5xx (e.g. 429)
    error_query: Optional[str] = None            # Prometheus, Sloth style, {{window}} inside
    good_query: Optional[str] = None
    total_query: Optional[str] = None
    description: str = ""

    @model_validator(mode="after")
    def _complete(self) -> "Objective":
        queries = self.error_query or self.good_query
        if self.error_query and self.good_query:
            raise ValueError("give error_query or good_query, not both")
        if bool(queries) != bool(self.total_query):
            raise ValueError("error_query (or good_query) and total_query go together")
        if self.sli == "latency" and not queries and self.threshold_ms is None:
            raise ValueError("a latency objective needs threshold_ms")
        if any(not 100 <= s <= 599 for s in self.bad_status):
            raise ValueError("bad_status lists HTTP statuses (100..599)")
        if self.window.total_seconds() < 300:
            raise ValueError("window must be at least 5m")
        return self


class Slo(_Section):
    source: SloSource
    objectives: list[Objective] = []
    openslo: list[str] = []                      # globs of OpenSLO v1 documents, read as more objectives
    min_requests: int = Field(1, ge=1)           # fewer requests in a window: "could not observe", a failure

    @model_validator(mode="after")
    def _consistent(self) -> "Slo":
        names = [o.name for o in self.objectives]
        if len(set(names)) != len(names):
            raise ValueError(f"objective names must be unique: {sorted({n for n in names if names.count(n) > 1})}")
        if self.source.access_log and any(o.total_query for o in self.objectives):
            raise ValueError("error_query/good_query/total_query need slo.source.prometheus")
        return self


class Maint(_Section):
    """The validated configuration. `path`/`sha256` say where it came from."""

    service: str = Field(min_length=1)
    root: str = "."
    state_dir: Optional[str] = None
    command_timeout_s: float = Field(60, gt=0, le=3600)
    disk: Optional[Disk] = None
    logs: Optional[Logs] = None
    temp: Optional[Temp] = None
    backups: Optional[Backups] = None
    health: Optional[list[Endpoint]] = None
    services: Optional[Services] = None
    monitoring: Optional[Monitoring] = None
    rollback_plan: Optional[str] = None
    work_dir: str = ".opsproof"                  # opsproof's files on the target: action lock, logrotate state
    docs: Optional[Docs] = None
    attestations: Optional[Attestations] = None
    window: Optional[Window] = None
    notify: Optional[Notify] = None
    slo: Optional[Slo] = None
    # Sections whose checks come with later work; accepted (the contract names them) and kept as given.
    security: Optional[dict[str, Any]] = None
    dependencies: Optional[dict[str, Any]] = None
    config_audit: Optional[dict[str, Any]] = None

    # Filled by load(), not by the user.
    path: str = Field("", exclude=True)
    sha256: str = Field("", exclude=True)

    def resolve(self, relative: str) -> str:
        """An absolute path on the target: relative paths resolve against `root`."""
        return posixpath.normpath(posixpath.join(self.root, relative))

    def secrets(self) -> list[str]:
        """Values the config itself marks secret: header values and URL passwords."""
        import re
        from urllib.parse import parse_qsl, unquote, urlsplit

        found: list[str] = []
        urls = [e.url for e in self.health or []]
        urls += [self.monitoring.url] if self.monitoring else []
        if self.backups and self.backups.database and self.backups.database.dsn:
            urls.append(self.backups.database.dsn)
        if self.backups and self.backups.restore.dsn:
            urls.append(self.backups.restore.dsn)
        if self.backups:
            from .pgtools import PgError, split_password

            for dsn in (self.backups.database and self.backups.database.dsn, self.backups.restore.dsn):
                if not dsn:
                    continue
                found.extend(re.findall(r"\bpassword\s*=\s*'((?:[^'\\]|\\.)*)'", dsn))  # quoted, as written
                try:  # URL or keyword form (password='...'), percent-decoded as libpq reads it
                    found.append(split_password(dsn)[1] or "")
                except PgError:
                    found.extend(re.findall(r"\bpassword\s*=\s*'?([^\s']+)", dsn, re.I))
        if self.slo and self.slo.source.prometheus:
            urls.append(self.slo.source.prometheus)
            found.extend(v for value in self.slo.source.headers.values() for v in (value, *value.split()[1:]))
        if self.notify:
            urls.append(self.notify.webhook)
            # Chat webhooks carry their token in the path (Slack's /services/T../B../XXXX): long segments are secret.
            found.extend(seg for seg in urlsplit(self.notify.webhook).path.split("/") if len(seg) >= 16)
            found.extend(v for value in self.notify.headers.values() for v in (value, *value.split()[1:]))
        for url in urls:
            parts = urlsplit(url)
            if parts.password:
                found.append(parts.password)
                found.append(unquote(parts.password))  # libpq decodes %XX: the decoded form is the secret too
            for key, value in parse_qsl(parts.query):
                if any(word in key.lower() for word in ("token", "key", "secret", "pass", "sig", "auth")):
                    found.append(value)
        for endpoint in self.health or []:
            for key, value in endpoint.headers.items():
                if key.lower() in ("authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"):
                    found.append(value)
                    found.extend(value.split()[1:])  # the token after "Bearer"/"Basic"
        return found


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("json_",):
            out += ".json"
        else:
            out += ("." if out else "") + str(part)
    return out


def _hint(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "remove it or check its spelling against the README's config reference"
    if kind == "missing":
        return "add it: it names what to check"
    return "see the README's config reference"


def _message(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = err.get("msg", "invalid").removeprefix("Value error, ")
    if "input" in err and kind not in ("model_type", "dict_type", "list_type"):
        msg += f" (got {err['input']!r})"
    return msg


def find(cli_path: Optional[str], rootdir: str) -> tuple[Path, str]:
    """Which config file is in effect and why: --maint-config, then OPSPROOF_CONFIG, then the default."""
    if cli_path:
        return Path(cli_path).expanduser().absolute(), "--maint-config"
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser().absolute(), ENV_VAR
    return Path(rootdir, DEFAULT_NAME).absolute(), f"the default ({DEFAULT_NAME} in {rootdir})"


def load(path: Path, source: str = "") -> Maint:
    """Read, parse and validate one config file, or raise ConfigError."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(name, "", f"no such file (chosen by {source or 'the caller'})",
                          f"write one (see maintenance.yaml in the opsproof checkout), or pass --maint-config=PATH "
                          f"or set {ENV_VAR}")
    except OSError as exc:
        raise ConfigError(name, "", f"cannot be read: {exc.strerror}")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(name, "", f"YAML syntax error at {where}{problem}", "fix the YAML syntax")
    if not isinstance(data, dict):
        raise ConfigError(name, "", f"must be a mapping of sections, got {type(data).__name__}",
                          "start from the example maintenance.yaml")
    try:
        maint = Maint.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        key = _key_path(first["loc"])
        problem = _message(first) + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
        raise ConfigError(name, key, problem, _hint(first))
    root = Path(path.parent, maint.root).resolve()
    updates: dict[str, Any] = {
        "root": str(root),
        "path": name,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "state_dir": str(Path(path.parent, maint.state_dir or ".opsproof").resolve()),
    }
    return _resolved(maint.model_copy(update=updates))


def _resolved(maint: Maint) -> Maint:
    """Make every configured relative path absolute against root, once."""
    r = maint.resolve
    changes: dict[str, Any] = {}
    if maint.disk:
        changes["disk"] = maint.disk.model_copy(update={"paths": [r(p) for p in maint.disk.paths]})
    if maint.logs:
        logs_update: dict[str, Any] = {"error_log": r(maint.logs.error_log)}
        if maint.logs.rotate:
            logs_update["rotate"] = maint.logs.rotate.model_copy(update={"files": [r(f) for f in maint.logs.rotate.files]})
        changes["logs"] = maint.logs.model_copy(update=logs_update)
    if maint.temp:
        changes["temp"] = maint.temp.model_copy(update={"dirs": [r(d) for d in maint.temp.dirs]})
    if maint.backups:
        b_update: dict[str, Any] = {"dir": r(maint.backups.dir)}
        db = maint.backups.database
        if db and db.path:
            b_update["database"] = db.model_copy(update={"path": r(db.path)})
        if maint.backups.restore.scratch_dir:
            b_update["restore"] = maint.backups.restore.model_copy(update={"scratch_dir": r(maint.backups.restore.scratch_dir)})
        changes["backups"] = maint.backups.model_copy(update=b_update)
    if maint.rollback_plan:
        changes["rollback_plan"] = r(maint.rollback_plan)
    changes["work_dir"] = r(maint.work_dir)
    if maint.docs:
        changes["docs"] = maint.docs.model_copy(update={"dir": r(maint.docs.dir)})
    if maint.attestations:
        changes["attestations"] = maint.attestations.model_copy(update={"file": r(maint.attestations.file)})
    if maint.slo:
        from .slo.openslo import resolved_slo  # OpenSLO documents become objectives; a bad one is a ConfigError

        changes["slo"] = resolved_slo(maint.slo, r, maint.path)
    return maint.model_copy(update=changes)
