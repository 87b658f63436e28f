"""Every picture in a report, in one place: the house style, the helper process that draws, and one module per concern.

- `style`: colours, date axes in UTC, units, and PNG output (matplotlib's Agg, no display).
- `drawing`: `draw("opsproof.charts.slo:budget_chart", ...)` hands the data to a helper process and returns a
  future of the PNG, so a run's checks go on while matplotlib works (in process when no helper can start).
- `backups`, `disk`, `slo`: the charts themselves, each taking the library's own records. The library says which
  picture shows a record as a `drawing.Chart` (function, data, caption); engine/charts.py hands it to the helper.

matplotlib is imported only by these modules, and only when a chart is drawn.
"""
