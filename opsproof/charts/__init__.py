"""Every picture in a report, in one place: the house style, how a picture is drawn, and one module per concern.

- `style`: colours (each readable on white), times in UTC with the axis saying so, units, and SVG output (pygal,
  pure Python: a chart is a few milliseconds and tens of KB of text inline in the self-contained report).
- `drawing`: the library says which picture shows a record as a `drawing.Chart` (function, data, caption);
  engine/charts.py draws it where it is asked for, in the run's own process.
- `backups`, `disk`, `slo`: the report's charts, each taking the library's own records; `trend`: one measured value
  over many runs, for `opsproof history` and an audit bundle.

pygal is imported only by these modules, and only when a chart is drawn: a run that draws nothing imports it not.
"""
