"""maintenance.yaml: the contract users write, validated into one immutable object.

A bad file raises ConfigError naming the file, the key path and what is wrong; nothing else
in the suite runs before this succeeds. Paths: `root` is relative to the config file's
directory, every other relative path is relative to `root` (made absolute here, once).

base: the error and its wording, durations; section: the strict base of every section, which knows its key
path and gives a threshold as a `Setting` (value, key path, warning level); sections/schedule/slo: the
sections; when: the window's rule, start and zone; model: Maint, the whole; openslo: OpenSLO documents
as objectives; loader: find, load, resolve; inputs: the one reader of every file the suite reads (regular files,
bounded; YAML through yamlsafe's checks). The package is a leaf: it imports nothing else of opsproof.
"""
from .base import ACTIONS, DEFAULT_NAME, ENV_VAR, ConfigError, Duration, parse_duration
from .loader import find, for_groups, load
from .model import Maint
from .process import Attestations, Docs, Notify, Window
from .section import Section, Setting
from .sections import (Backups, Database, Disk, Endpoint, Logs, Monitoring, Restore, Rotate, Services, SmokeQuery,
                       Temp, logrotate_period)
from .slo import Objective, Slo, SloSource

__all__ = ["ACTIONS", "DEFAULT_NAME", "ENV_VAR", "ConfigError", "Duration", "parse_duration", "find", "for_groups", "load",
           "Maint",
           "Attestations", "Docs", "Notify", "Window", "Backups", "Database", "Disk", "Endpoint", "Logs", "Monitoring",
           "Restore", "Rotate", "Services", "SmokeQuery", "Temp", "Objective", "Slo", "SloSource", "logrotate_period",
           "Section", "Setting"]
