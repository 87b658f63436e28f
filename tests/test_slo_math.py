"""SLO arithmetic against hand-computed cases: budget exactly spent, overspent, untouched, no traffic."""
from __future__ import annotations

import pytest

from opsproof.slo import math as m


def test_budget_exactly_spent():
    # 99.9 % of 10 000 requests allows 10 bad ones; 10 bad spends all of it: SLI 99.9 %, remaining 0, burn 1.
    assert m.sli(9990, 10000) == pytest.approx(0.999)
    assert m.budget_remaining(10, 10000, 99.9) == pytest.approx(0.0, abs=1e-12)
    assert m.burn_rate(10, 10000, 99.9) == pytest.approx(1.0)


def test_budget_overspent_is_negative():
    # 99 % of 1 000 allows 10 bad; 25 bad is 2.5 budgets: remaining 1 - 2.5 = -1.5, burning 2.5x.
    assert m.budget_remaining(25, 1000, 99.0) == pytest.approx(-1.5)
    assert m.burn_rate(25, 1000, 99.0) == pytest.approx(2.5)
    assert m.sli(975, 1000) == pytest.approx(0.975)


def test_budget_partly_spent_and_untouched():
    # 99.5 % of 2 000 allows 10 bad; 4 bad leaves 60 %.
    assert m.budget_remaining(4, 2000, 99.5) == pytest.approx(0.6)
    assert m.budget_remaining(0, 2000, 99.5) == 1.0
    assert m.error_budget(99.9) == pytest.approx(0.001)


def test_no_traffic_is_no_number_never_a_pass():
    assert m.sli(0, 0) is None
    assert m.budget_remaining(0, 0, 99.9) is None
    assert m.burn_rate(0, 0, 99.9) is None
    assert m.firing(None, 20.0, 14.4) is False


def test_workbook_factors_for_30_days_and_scaled_for_7():
    thirty = {(w.long_s, w.short_s): f for w, f in m.alert_windows(30 * 86400)}
    assert thirty == pytest.approx({(3600, 300): 14.4, (21600, 1800): 6.0, (86400, 7200): 3.0, (259200, 21600): 1.0})
    seven = {(w.long_s, w.short_s): f for w, f in m.alert_windows(7 * 86400, "page")}
    # factor = budget share x period hours / long-window hours: 0.02 x 168 / 1 and 0.05 x 168 / 6
    assert seven == pytest.approx({(3600, 300): 3.36, (21600, 1800): 1.4})


def test_alerts_longer_than_the_period_are_left_out():
    assert [w.long_s for w, _ in m.alert_windows(2 * 86400)] == [3600, 21600, 86400]


def test_firing_needs_both_windows():
    assert m.firing(15.0, 20.0, 14.4)
    assert not m.firing(15.0, 3.0, 14.4)     # the burn has stopped: the short window says so
    assert not m.firing(3.0, 20.0, 14.4)     # a blip: the long window has not burnt enough
    assert m.firing(14.4, 14.4, 14.4)


def test_percentile_interpolates_inside_its_bin():
    edges = [10.0, 20.0, 40.0]
    counts = [0, 10, 10, 0]        # 10 requests in (10, 20], 10 in (20, 40]
    assert m.percentile(counts, edges, 0.5) == pytest.approx(20.0)
    assert m.percentile(counts, edges, 0.25) == pytest.approx(15.0)
    assert m.percentile(counts, edges, 0.75) == pytest.approx(30.0)
    assert m.percentile([0, 0, 0, 5], edges, 0.99) == 40.0     # above the last edge: the highest bound known
    assert m.percentile([0, 0, 0, 0], edges, 0.5) is None


def test_durations_read_back():
    assert [m.format_duration(s) for s in (30 * 86400, 6 * 3600, 300, 90, 7776000)] == ["30d", "6h", "5m", "90s", "90d"]


@pytest.mark.parametrize("good,total,words", [
    (99990, 100000, "looks loose"),         # 99 % target, 0.01 % bad: 1 % of the budget used
    (99300, 100000, "about right"),         # 70 % of a 1 % budget
    (99150, 100000, "tight"),               # 85 %
    (98000, 100000, "missed"),              # 200 %
    (0, 0, "no traffic"),
])
def test_review_hint_reads_the_quarter(good, total, words):
    hint = m.review_hint("api", 99.0, good, total)
    assert words in hint, hint


def test_loose_target_suggests_a_tighter_one_that_keeps_half_the_budget():
    # 10 bad of 100 000: 99.95 % allows 50 (half: 25) -> fits; 99.99 % allows 10 (half: 5) -> does not.
    hint = m.review_hint("api", 99.0, 99990, 100000)
    assert "99.95 % would still leave at least half its budget" in hint, hint


def test_an_alert_whose_long_window_equals_the_period_is_kept():
    """A 1 h objective keeps the page 1h/5m alert (long window == period); a 59 min one has none."""
    from opsproof.slo.math import alert_windows

    kept = alert_windows(3600, "page")
    assert [(w.long_s, w.short_s) for w, _ in kept] == [(3600, 300)]
    assert kept[0][1] == pytest.approx(0.02)            # share * period / long window
    assert alert_windows(3540, "page") == []


def test_a_budget_spent_exactly_is_met_not_missed():
    """Exactly 100 % of the budget used still meets the objective; one more bad request misses it."""
    from opsproof.slo.math import review_hint

    assert "met, but 100% of the error budget" in review_hint("api", 50.0, good=50, total=100)
    assert "the objective was missed" in review_hint("api", 50.0, good=49, total=100)


# Each test below kills a mutant that survived scripts/mutation (tests/MUTANTS.md).

def test_a_single_request_is_traffic():
    """One request (or a fractional rate from increase()) is an SLI, not "no traffic"."""
    assert m.sli(1, 1) == 1.0 and m.sli(0.5, 0.5) == 1.0
    assert m.budget_remaining(0, 1, 99.0) == 1.0
    assert m.burn_rate(1, 1, 50.0) == pytest.approx(2.0)
    assert m.percentile([1, 0, 0, 0], [10.0, 20.0, 40.0], 0.5) == pytest.approx(5.0)   # the first bin starts at 0
    assert "no traffic" not in m.review_hint("api", 99.0, 1, 1)


def test_percentile_on_a_bin_boundary_takes_the_lower_bin():
    """As histogram_quantile: the first bucket whose cumulative count reaches the rank, not a later one."""
    assert m.percentile([2, 0, 2, 0], [10.0, 20.0, 30.0], 0.5) == pytest.approx(10.0)


def test_percentile_counts_every_bin_before_its_own():
    assert m.percentile([1, 1, 1, 1, 0], [10.0, 20.0, 30.0, 40.0], 0.75) == pytest.approx(30.0)


def test_a_rank_past_every_request_reads_as_the_highest_bound():
    """q above 1 is not a quantile; it still reads the highest edge known, never a crash."""
    assert m.percentile([1, 1, 0, 0], [10.0, 20.0, 30.0], 1.5) == 30.0


def test_review_hint_says_what_was_achieved_and_what_to_do():
    missed = m.review_hint("api", 99.0, 98000, 100000)
    assert "98.000 % against 99 %" in missed, missed
    tight = m.review_hint("api", 99.0, 99150, 100000)
    assert tight.endswith("plan reliability work."), tight


def test_three_quarters_of_the_budget_exactly_is_about_right_not_tight():
    """TIGHT_ABOVE is a strict bound: 75 bad of a 100-request budget (50 %, 200 requests) reads about right."""
    assert "about right" in m.review_hint("api", 50.0, good=125, total=200)


def test_a_loose_target_with_no_tighter_step_suggests_nothing():
    """No step above the target keeps half its budget: no suggestion (never the target itself)."""
    top = m.review_hint("api", 99.999, 9_999_995, 10_000_000)      # the highest step: nothing above it
    assert top.endswith("gives no signal."), top
    near = m.review_hint("api", 99.99, 999_992, 1_000_000)          # 8 bad; 99.999 % would allow only 5 of 10
    assert "looks loose" in near and near.endswith("gives no signal."), near
