"""OpenSLO v1 documents (kind: SLO, with an inline indicator or an indicatorRef to a kind: SLI) as objectives.

Supported: `ratioMetric` (good or bad over total), rolling `timeWindow`, budgetingMethod Occurrences.
A metric source of type Prometheus gives queries (`{{window}}` where the range goes, as Sloth writes
them); type `opsproof` reads the configured source itself, its spec naming the SLI:
`{sli: availability, bad_status: [429]}` or `{sli: latency, threshold_ms: 300}`. Anything else is a
ConfigError naming the file, the document and the key path, so a bad document stops the run (exit 4).
"""
from __future__ import annotations

import glob
import os
import re
from typing import Any, Callable

from pydantic import ValidationError

from . import inputs
from .base import ConfigError, hint, key_path, message
from .slo import Objective, Slo

_WINDOW = re.compile(r"^(\d+)([smhdwMQY])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 30 * 86400, "Q": 90 * 86400, "Y": 365 * 86400}
_PLACEHOLDER = re.compile(r"\{\{\s*\.?window\s*\}\}")


class _Bad(Exception):
    def __init__(self, key: str, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.key, self.problem, self.hint = key, problem, hint


def _get(node: Any, key: str, where: str, required: bool = True, kind: type | tuple = object) -> Any:
    if not isinstance(node, dict):
        raise _Bad(where, f"must be a mapping, got {type(node).__name__}")
    if key not in node or node[key] is None:
        if required:
            raise _Bad(f"{where}.{key}" if where else key, "required key is missing")
        return None
    value = node[key]
    if not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _Bad(f"{where}.{key}" if where else key, f"must be a {name}, got {value!r}")
    return value


def _window(spec: dict) -> str:
    windows = _get(spec, "timeWindow", "spec", kind=list)
    if len(windows) != 1:
        raise _Bad("spec.timeWindow", "exactly one time window is supported")
    win = windows[0]
    duration = str(_get(win, "duration", "spec.timeWindow[0]"))
    if not _get(win, "isRolling", "spec.timeWindow[0]", required=False, kind=bool):
        raise _Bad("spec.timeWindow[0].isRolling", "only rolling windows are supported (isRolling: true)",
                   "calendar-aligned windows are not computed by opsproof")
    m = _WINDOW.match(duration.strip())
    if not m:
        raise _Bad("spec.timeWindow[0].duration", f"{duration!r} is not a duration such as 28d, 4w or 1M")
    return f"{int(m[1]) * _SECONDS[m[2]]}s"


def _side(ratio: dict, where: str) -> tuple[str, dict]:
    good, bad = ratio.get("good"), ratio.get("bad")
    if (good is None) == (bad is None):
        raise _Bad(where, "a ratioMetric needs exactly one of good or bad, and total")
    return ("good", good) if good is not None else ("bad", bad)


def _source(side: Any, where: str) -> tuple[str, dict]:
    source = _get(side, "metricSource", where, kind=dict)
    kind = str(_get(source, "type", f"{where}.metricSource"))
    spec = _get(source, "spec", f"{where}.metricSource", required=False, kind=dict) or {}
    return kind.lower(), spec


def _objective_fields(indicator: dict, where: str) -> dict[str, Any]:
    spec = _get(indicator, "spec", where, kind=dict)
    if "thresholdMetric" in spec:
        raise _Bad(f"{where}.spec.thresholdMetric", "thresholdMetric is not supported",
                   "write a ratioMetric: good = requests faster than the threshold, over total")
    ratio = _get(spec, "ratioMetric", f"{where}.spec", kind=dict)
    rw = f"{where}.spec.ratioMetric"
    which, side = _side(ratio, rw)
    kind, side_spec = _source(side, f"{rw}.{which}")
    total_kind, total_spec = _source(_get(ratio, "total", rw, kind=dict), f"{rw}.total")
    if kind != total_kind:
        raise _Bad(f"{rw}.total.metricSource.type", f"{total_kind!r} differs from the {which} side's {kind!r}")
    if kind == "prometheus":
        queries = {}
        for name, s, path in ((which, side_spec, f"{rw}.{which}"), ("total", total_spec, f"{rw}.total")):
            query = _get(s, "query", f"{path}.metricSource.spec", kind=str)
            if not _PLACEHOLDER.search(query):
                raise _Bad(f"{path}.metricSource.spec.query", "the query has no {{window}}",
                           "write it where the range goes, e.g. sum(rate(http_requests_total[{{window}}]))")
            queries[name] = _PLACEHOLDER.sub("{{window}}", query)
        return {"sli": "availability", "error_query" if which == "bad" else "good_query": queries[which],
                "total_query": queries["total"]}
    if kind == "opsproof":
        sli = side_spec.get("sli", "availability")
        fields: dict[str, Any] = {"sli": sli}
        for key in ("threshold_ms", "bad_status"):
            if key in side_spec:
                fields[key] = side_spec[key]
        unknown = set(side_spec) - {"sli", "threshold_ms", "bad_status"}
        if unknown:
            raise _Bad(f"{rw}.{which}.metricSource.spec.{sorted(unknown)[0]}", "unknown key",
                       "the opsproof source takes sli, threshold_ms and bad_status")
        return fields
    raise _Bad(f"{rw}.{which}.metricSource.type", f"metric source type {kind!r} is not supported",
               "use Prometheus (queries with {{window}}) or opsproof (the configured slo.source)")


def _objectives(doc: dict, indicators: dict[str, dict], origin: str) -> list[Objective]:
    meta = _get(doc, "metadata", "", kind=dict)
    name = str(_get(meta, "name", "metadata"))
    spec = _get(doc, "spec", "", kind=dict)
    method = _get(spec, "budgetingMethod", "spec", kind=str)
    if method != "Occurrences":
        raise _Bad("spec.budgetingMethod", f"{method!r} is not supported", "opsproof computes Occurrences")
    window = _window(spec)
    if "indicator" in spec:
        fields = _objective_fields(_get(spec, "indicator", "spec", kind=dict), "spec.indicator")
    else:
        ref = str(_get(spec, "indicatorRef", "spec"))
        if ref not in indicators:
            raise _Bad("spec.indicatorRef", f"no kind: SLI named {ref!r} in the slo.openslo files")
        fields = _objective_fields(indicators[ref], f"SLI {ref}")
    targets = _get(spec, "objectives", "spec", kind=list)
    if not targets:
        raise _Bad("spec.objectives", "needs at least one objective")
    out = []
    for i, item in enumerate(targets):
        where = f"spec.objectives[{i}]"
        if not isinstance(item, dict):
            raise _Bad(where, "must be a mapping")
        if "target" in item:
            target = item["target"]
            if not isinstance(target, (int, float)) or not 0 < target < 1:
                raise _Bad(f"{where}.target", f"must be a fraction between 0 and 1 (exclusive), got {target!r}")
            percent = float(target) * 100
        else:
            percent = _get(item, "targetPercent", where, kind=(int, float))
        label = name if len(targets) == 1 else f"{name}/{item.get('displayName') or i}"
        try:
            out.append(Objective(name=label, target=percent, window=window, description=origin, **fields))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise _Bad(f"{where} ({key_path(err['loc']) or 'objective'})", message(err))
    return out


def load_documents(paths: list[str]) -> list[Objective]:
    """Every kind: SLO in these files as objectives; other kinds (Service, AlertPolicy, ...) are ignored."""
    docs: list[tuple[str, int, dict]] = []
    for path in paths:
        try:
            loaded = inputs.load_yaml(path, documents=True, hint="split it (slo.openslo takes globs)")
        except FileNotFoundError:
            raise ConfigError(path, "", "cannot be read: no such file (removed since the glob matched it?)")
        for index, doc in enumerate(d for d in loaded if d is not None):
            if not isinstance(doc, dict):
                raise ConfigError(path, f"document {index}", "must be a mapping (an OpenSLO object)")
            docs.append((path, index, doc))
    indicators = {str((d.get("metadata") or {}).get("name")): d for _, _, d in docs if d.get("kind") == "SLI"}
    objectives: list[Objective] = []
    for path, index, doc in docs:
        if doc.get("kind") != "SLO":
            continue
        try:
            if doc.get("apiVersion") != "openslo/v1":
                raise _Bad("apiVersion", f"{doc.get('apiVersion')!r} is not openslo/v1")
            objectives += _objectives(doc, indicators, f"OpenSLO {os.path.basename(path)}")
        except _Bad as bad:
            raise ConfigError(path, f"document {index}: {bad.key}", bad.problem, bad.hint)
    return objectives


def resolved_slo(slo: Slo, resolve: Callable[[str], str], config_path: str) -> Slo:
    """The slo section with its access log made absolute and the OpenSLO objectives added."""
    source = slo.source
    if source.access_log:
        source = source.model_copy(update={"access_log": resolve(source.access_log)})
    objectives = list(slo.objectives)
    for i, pattern in enumerate(slo.openslo):
        matches = sorted(glob.glob(resolve(pattern)))
        if not matches:
            raise ConfigError(config_path, f"slo.openslo[{i}]", f"{pattern!r} matches no file ({resolve(pattern)})",
                              "fix the glob or remove it")
        objectives += load_documents(matches)
    try:
        return Slo.model_validate({**slo.model_dump(), "source": source.model_dump(),
                                   "objectives": [o.model_dump() for o in objectives]})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(config_path, "slo" + ("." + key_path(err["loc"]) if err["loc"] else ""), message(err),
                          hint(err))
