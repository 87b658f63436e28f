"""What every chart in the report shares: pygal's SVG (text, inline in the self-contained HTML report, sharp in
print, no script), the palette, UTC times on the x axis with the zone said, byte units.

pygal is pure Python and imports in a few tens of milliseconds, so a chart is drawn where it is asked for, in the
run's own process; nothing imports matplotlib or starts a helper process for a picture.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterable

import pygal
from pygal.style import Style

WIDTH, HEIGHT = 800, 320
OK, BAD, LIMIT, LINE, AMBER = "#1e6b30", "#b03024", "#4d4d4d", "#3f6a9e", "#8a5a00"   # each >= 4.5:1 on white
UNITS = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B"))
TIME_FORMAT = "%m-%d %H:%M"   # on the axis, whose title says UTC


def style(*colors: str) -> Style:
    return Style(background="white", plot_background="white", foreground="#222222", foreground_strong="#111111",
                 foreground_subtle="#6b6b6b", opacity="1", opacity_hover="1", colors=colors or (OK,),
                 font_family="DejaVu Sans, Arial, sans-serif", title_font_size=14, label_font_size=11,
                 major_label_font_size=11, legend_font_size=11, value_font_size=10, tooltip_font_size=10,
                 no_data_font_size=16, guide_stroke_color="#d9d9d9", major_guide_stroke_color="#bfbfbf",
                 guide_stroke_dasharray="2,4", major_guide_stroke_dasharray="2,4")


def options(title: str, *colors: str, **more: Any) -> dict[str, Any]:
    """What every chart is made with: its size, its title, no script, no XML declaration (it is inlined)."""
    return {"width": WIDTH, "height": HEIGHT, "title": title, "style": style(*colors), "js": [],
            "disable_xml_declaration": True, "explicit_size": True, "legend_at_bottom": True, "show_x_guides": False,
            "x_label_rotation": 0, "truncate_legend": -1, "truncate_label": -1, "no_data_text": "no data",
            "stroke_style": {"width": 2}, "value_formatter": number, "dots_size": 3, "x_labels_major_count": 6, "show_minor_x_labels": False,
            **more}


def number(value: Any) -> str:
    """An axis label or a value: at most four significant digits (3.5, 0.9286, 12 000 as 1.2e+04 never)."""
    return "" if value is None else f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"


def utc(times: Iterable[float]) -> list[datetime]:
    return [datetime.fromtimestamp(t, timezone.utc) for t in times]


def when(moment: datetime) -> str:
    """A time on an x axis: month-day hour:minute, in UTC (the axis title says so)."""
    return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)


def time_span(start: float, end: float, least_s: float = 3600) -> tuple[float, float]:
    """The x axis's span for points from `start` to `end` (Unix times): theirs, or a day around them when they lie
    closer together than `least_s` (one point, or all within minutes)."""
    if end - start >= least_s:
        return start, end
    middle = (start + end) / 2
    return middle - 43200, middle + 43200


def unit_for(largest: float) -> tuple[int, str]:
    """The binary unit that shows `largest` bytes as a number of at least 1 (B for nothing at all)."""
    return next(((size, name) for size, name in UNITS if largest >= size), UNITS[-1])


_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def svg(chart: Any) -> str:
    """The chart as SVG text, without the script pygal puts in for its tooltips (an image runs none; the report
    carries no script of ours)."""
    return _SCRIPT.sub("", chart.render(is_unicode=True))


def message(title: str, text: str) -> str:
    """A chart with nothing to draw: its title and why, in the same frame."""
    chart = pygal.XY(**options(title, BAD, show_legend=False, no_data_text=text))
    return svg(chart)


def stack(parts: list[str], height: int = HEIGHT) -> str:
    """Two or more charts one above the other in one SVG (pygal draws one plot per chart)."""
    inner = []
    for n, part in enumerate(parts):
        body = re.sub(r"^<svg ", f'<svg y="{n * height}" ', part, count=1)
        inner.append(body)
    total = height * len(parts)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{total}" '
            f'viewBox="0 0 {WIDTH} {total}">' + "".join(inner) + "</svg>")
