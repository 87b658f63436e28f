"""The whole validated configuration: Maint."""
from __future__ import annotations

import posixpath
from typing import Any, Optional

from pydantic import Field

from .base import _Section
from .schedule import Attestations, Docs, Notify, Window
from .sections import Backups, Disk, Endpoint, Logs, Monitoring, Services, Temp
from .slo import Slo


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
            from ..backups.pgtools import PgError, split_password

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
