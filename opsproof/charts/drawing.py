"""A picture the library asks for, drawn where it is asked for.

The library decides what a picture shows and returns a `Chart` (opsproof/charts/backups.py, disk.py, slo.py): the
pure chart function ("module:name"), its data, its caption. `Chart.draw()` imports the function and calls it: pygal
SVG text in a few milliseconds, in the run's own process (no helper process, no plotting stack imported at start-up;
a run that draws nothing imports neither pygal nor matplotlib).

A chart is drawn where it is read (`read_in`): for a check that did not pass, and in runs of the cadences whose
reports are reviews (weekly, monthly, quarterly, the maintenance checklists). The daily and post-deploy runs are
frequent gates: a passing check's chart there would be drawn every day and read by no one (the history page draws
the trends: opsproof history).
"""
from __future__ import annotations

import base64
import importlib
from dataclasses import dataclass
from typing import Any, Iterable, Union

GATES = ("daily", "postdeploy")   # frequent runs whose passing checks draw no chart


@dataclass(frozen=True)
class Chart:
    """A picture for the report, not drawn yet: the chart function ("module:name"), its data, its caption."""

    function: str
    args: tuple[Any, ...]
    caption: str

    def draw(self) -> str:
        """The SVG text the function returns for the data."""
        module, _, name = self.function.partition(":")
        return getattr(importlib.import_module(module), name)(*self.args)


def base64_svg(svg: Union[str, BaseException]) -> str:
    """The SVG as base64 text for a data: URL; a chart that could not be drawn raises the drawing's own error."""
    if isinstance(svg, BaseException):
        raise svg
    return base64.b64encode(svg.encode("utf-8")).decode("ascii")


def not_drawn(caption: str, exc: BaseException) -> str:
    return f"the chart {caption!r} could not be drawn: {type(exc).__name__}: {exc}"


def read_in(cadences: Iterable[str], failed: bool) -> bool:
    """Whether a check's chart is drawn: it did not pass, or the run selected one of its cadences that is no gate."""
    return failed or any(c not in GATES for c in cadences)
