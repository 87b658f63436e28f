"""The strict base of every section, and what a check compares against: a `Setting`.

A section knows where it sits in the config (`key`: `backups`, `health[api]`, `slo.objectives[availability]`),
so `maint.backups.setting("max_age_hours")` gives the value with its key path (`backups.max_age_hours`), its
warning level (the `warn_` sibling, by the naming rule `warn_name`) and where it came from when that is not
maintenance.yaml itself (an OpenSLO document). The key is derived from the model's own nesting each time a
section is validated or copied: a list item is named by `item_key` (an endpoint's label, an objective's name,
else its position), a mapping's item by its key. A section made on its own has its key relative to itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, Mapping, Optional, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator
from typing_extensions import Self

T = TypeVar("T")
_LAST_NAME = re.compile(r"(^|\.)([A-Za-z_][A-Za-z0-9_]*)$")


class KeyPathError(LookupError):
    """A setting a check asked for is not there, or cannot be compared as asked: a defect in the check."""


def warn_name(name: str) -> Optional[str]:
    """`max_used_percent` -> `warn_used_percent`; `forecast_min_days` -> `warn_forecast_days`; `target` ->
    `warn_target`; a name that is already a warning level has none."""
    words = name.split("_")
    if not name or words[0] == "warn":
        return None
    for bound in ("max", "min"):
        if bound in words:
            words.remove(bound)
            break
    return "_".join(["warn", *words])


def warn_key(key: str) -> Optional[str]:
    """The key path of the warning level beside the threshold at `key` (None when the key ends in a selector)."""
    match = _LAST_NAME.search(key)
    name = match and warn_name(match.group(2))
    return key[:match.start(2)] + name if match and name else None


@dataclass(frozen=True)
class Setting(Generic[T]):
    """A threshold as a check compares against it: the value, the key path it is written at, its warning level."""

    value: T
    key: str                       # backups.max_age_hours, health[api].max_latency_ms
    warn: Optional[T] = None       # the warning level beside it (its `warn_` sibling), when one is configured
    warn_key: str = ""
    origin: str = ""               # where it came from when not the config file itself: "from slo/api.yaml"

    @property
    def source(self) -> str:
        """The key path as the report shows it: `slo.objectives[api].target (from slo/api.yaml)`."""
        return self.key + (f" ({self.origin})" if self.origin else "")


class Section(BaseModel):
    """A config section: strict (unknown keys refused), immutable, and aware of its own key path."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)
    _key: str = PrivateAttr("")

    @property
    def key(self) -> str:
        """Where this section sits in the config: `backups.restore`, `health[api]` ("" for the whole config)."""
        return self._key

    @property
    def origin(self) -> str:
        """Where the section came from when not the config file itself ("" here; an OpenSLO objective says)."""
        return ""

    def item_key(self, index: int) -> str:
        """How this section is named as an item of a list: by position unless it has a name of its own."""
        return str(index)

    def setting(self, name: str, item: Optional[str] = None) -> Setting[Any]:
        """The setting `name` of this section, with its key path and warning level; `item` picks one entry of a
        mapping setting (`maint.attestations.setting("tasks", "team-training")`)."""
        fields = type(self).model_fields
        if name not in fields:
            raise KeyPathError(f"{self._at(name)}: {type(self).__name__} has no setting {name!r}")
        value, key = getattr(self, name), self._at(name)
        warn, warn_at = None, ""
        if item is not None:
            if not isinstance(value, Mapping) or item not in value:
                raise KeyPathError(f"{key}: no entry {item!r}")
            value, key = value[item], f"{key}[{item}]"
        else:
            sibling = warn_name(name)
            if sibling in fields and getattr(self, sibling) is not None:
                warn, warn_at = getattr(self, sibling), self._at(sibling)
        if value is None:
            raise KeyPathError(f"{key} is not configured")
        return Setting(value, key, warn, warn_at, self.origin)

    def place(self, key: str) -> Self:
        """Tell this section, and every section inside it, where it sits; returns it."""
        self._key = key
        for name, field in type(self).model_fields.items():
            if field.exclude:                      # filled by the loader (a group's own config), not a part
                continue
            value, at = getattr(self, name), self._at(field.alias or name, key)
            if isinstance(value, Section):
                value.place(at)
            elif isinstance(value, (list, tuple)):
                for i, part in enumerate(value):
                    if isinstance(part, Section):
                        part.place(f"{at}[{part.item_key(i)}]")
            elif isinstance(value, Mapping):
                for name_of, part in value.items():
                    if isinstance(part, Section):
                        part.place(f"{at}[{name_of}]")
        return self

    @model_validator(mode="after")
    def _placed(self) -> Self:
        return self.place(self._key)

    def model_copy(self, *, update: Optional[Mapping[str, Any]] = None, deep: bool = False) -> Self:
        """A copy, its parts placed again: an update may bring sections made elsewhere (OpenSLO objectives)."""
        copy = super().model_copy(update=update, deep=deep)
        return copy.place(copy._key)

    def _at(self, name: str, key: Optional[str] = None) -> str:
        key = self._key if key is None else key
        return f"{key}.{name}" if key else name
