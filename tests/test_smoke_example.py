"""The example service and the daily checks, end to end: all pass against a healthy service."""


def test_daily_passes_on_the_example(suite, example_app):
    suite.config(example_app.config())
    result = suite.run("-m", "daily")
    assert result.ret == 0, result.stdout.str()
    summary = suite.summary()
    assert summary["outcome"].get("failed", 0) == 0
    assert summary["outcome"]["passed"] >= 8
    assert summary["selection"] == "daily"
