"""The slo section: where requests are counted and the objectives they are held to."""
from __future__ import annotations

from datetime import timedelta
from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from .base import Duration, http_url, unique_names
from .judgement import warn_band
from .section import Section


class SloSource(Section):
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
            http_url(self.prometheus)
        return self


class Objective(Section):
    name: str = Field(min_length=1)
    sli: Literal["availability", "latency"] = "availability"
    target: float = Field(gt=0, lt=100)          # percent of good requests over the window
    warn_target: Optional[float] = Field(None, gt=0, lt=100)   # a warning (not a failure) below this percent
    window: Duration = timedelta(days=30)        # rolling
    threshold_ms: Optional[float] = Field(None, gt=0)   # latency: a request is good when it took <= this
    bad_status: list[int] = []                   # statuses counted bad besides 5xx (e.g. 429)
    error_query: Optional[str] = None            # Prometheus, Sloth style, {{window}} inside
    good_query: Optional[str] = None
    total_query: Optional[str] = None
    description: str = ""

    _warn = warn_band("warn_target")

    def item_key(self, index: int) -> str:
        return self.name                        # slo.objectives[availability].target

    @property
    def origin(self) -> str:
        """The OpenSLO document an objective was read from ("from slo/api.yaml"), "" for one written here."""
        return "from " + self.description.removeprefix("OpenSLO ") if self.description.startswith("OpenSLO ") else ""

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


class Slo(Section):
    source: SloSource
    objectives: list[Objective] = []
    openslo: list[str] = []                      # globs of OpenSLO v1 documents, read as more objectives
    min_requests: int = Field(1, ge=1)           # fewer requests in a window: "could not observe", a failure

    @field_validator("objectives")
    @classmethod
    def _names(cls, value: list[Objective]) -> list[Objective]:
        # OpenSLO objectives follow the file's own (opsproof/config/openslo.py); their description says from where
        unique_names(value, "slo.objectives", lambda o: o.name,
                     lambda o: "the second from " + o.description if o.origin else "")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Slo":
        if self.source.access_log and any(o.total_query for o in self.objectives):
            raise ValueError("error_query/good_query/total_query need slo.source.prometheus")
        return self
