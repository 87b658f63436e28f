"""Charts drawn by a helper process that imported matplotlib while the run was starting.

Importing matplotlib (and numpy under it) costs about as much as a whole plain testinfra run, and drawing is
pure (data in, PNG bytes out), so a run that may draw starts one helper process at once; it imports the
plotting stack on the other core while this process loads the config, collects and runs the first checks.
`draw("opsproof.charts.slo:budget_chart", series, title)` then hands the data over and returns a future of the PNG
(the same function, the same bytes as drawing here), so the run goes on while the helper draws. Without a helper
(not started, or gone) it draws in this process and returns the bytes.
"""
from __future__ import annotations

import base64
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

if TYPE_CHECKING:
    from concurrent.futures import Future


WAIT_S = 300                        # the longest a report waits for the helper's chart


@dataclass(frozen=True)
class Chart:
    """A picture for the report, not drawn yet: the pure chart function ("module:name"), its data, its caption.

    The library decides what a picture shows (opsproof/charts/backups.py, disk.py, slo.py); the run's helper
    process draws it (`Painter.draw(chart.function, *chart.args)`)."""

    function: str
    args: tuple[Any, ...]
    caption: str


def base64_png(png: Union[bytes, bytearray, "Future"], timeout_s: float = WAIT_S) -> str:
    """The PNG as base64 text, waiting up to `timeout_s` for the helper when it is still drawing; a chart that could
    not be drawn raises the drawing's own error."""
    data = png if isinstance(png, (bytes, bytearray)) else png.result(timeout=timeout_s)
    return base64.b64encode(data).decode("ascii")


def not_drawn(caption: str, exc: BaseException) -> str:
    return f"the chart {caption!r} could not be drawn: {type(exc).__name__}: {exc}"


def _warm() -> None:
    """Import the plotting stack once, in the helper, before the first chart is asked for."""
    importlib.import_module(f"{__package__}.style")  # matplotlib, the Agg canvas, numpy


def _ready() -> bool:
    return True


def call(function: str, *args: Any) -> Any:
    """`module:name`, imported and called with `args` (in whichever process runs it)."""
    module, _, name = function.partition(":")
    return getattr(importlib.import_module(module), name)(*args)


class Painter:
    """One helper process for every chart of a run, or none (then charts are drawn in the caller's process)."""

    def __init__(self) -> None:
        self._pool: Optional[Any] = None   # a ProcessPoolExecutor of one process

    def start(self) -> None:
        """Start the helper now: forked where the system can (it shares what this process imported, numpy among
        them, and imports only matplotlib), spawned elsewhere. Call it before this process starts threads."""
        import multiprocessing  # here: a run that draws nothing does not import the process machinery
        from concurrent.futures import ProcessPoolExecutor

        if self._pool is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            try:
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method), initializer=_warm)
                self._pool.submit(_ready)  # the process starts (and imports) now, not at the first chart
            except Exception:  # no process to spare, or a fork refused (a warning made an error): draw here
                self.stop()

    def draw(self, function: str, *args: Any) -> Union[bytes, Future]:
        """The PNG `function(*args)` returns: a future of it when the helper draws it, else the bytes drawn here."""
        if self._pool is not None:
            from concurrent.futures.process import BrokenProcessPool

            try:
                return self._pool.submit(call, function, *args)
            except (BrokenProcessPool, RuntimeError):  # the helper died (killed, out of memory): draw here from now on
                self.stop()
        return call(function, *args)

    def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
