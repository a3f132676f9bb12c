"""Proper scores for interval-censored counts and the two naive forecasts (experiments/analysis/forecast.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.analysis.forecast import (
    constant_rate_forecast,
    covered,
    crps,
    crps_interval,
    fit_intervals,
    fit_random_walk,
    log_score,
    nb_dispersion,
    random_walk_forecast,
    score_table,
)


def brute_crps(x: np.ndarray, y: float) -> float:
    return float(np.abs(x - y).mean() - 0.5 * np.abs(x[:, None] - x[None, :]).mean())


@given(st.integers(-50, 50), st.floats(-100, 100), st.integers(1, 30))
def test_crps_point_mass_is_absolute_error(x, y, n):
    assert crps(np.full(n, float(x)), y) == pytest.approx(abs(x - y), abs=1e-9)


@settings(max_examples=50)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=60), st.floats(-1e3, 1e3))
def test_crps_matches_brute_force(xs, y):
    x = np.array(xs)
    assert crps(x, y) == pytest.approx(brute_crps(x, y), rel=1e-9, abs=1e-7)


def test_crps_vectorised_over_targets():
    rng = np.random.default_rng(1)
    x = rng.poisson(20, (4, 300)).astype(float)
    y = np.array([3.0, 20.0, 25.0, 60.0])
    got = crps(x, y)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, [brute_crps(x[i], y[i]) for i in range(4)], rtol=1e-10)


@settings(max_examples=50)
@given(st.lists(st.integers(0, 80), min_size=1, max_size=40), st.integers(0, 80), st.integers(0, 15))
def test_interval_crps_is_average_over_integers(xs, low, width):
    x = np.array(xs, dtype=float)
    expected = np.mean([brute_crps(x, y) for y in range(low, low + width + 1)])
    assert crps_interval(x, low, low + width) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_interval_scores_reduce_to_exact_when_low_equals_high():
    rng = np.random.default_rng(2)
    x = rng.negative_binomial(3, 0.1, (5, 500)).astype(float)
    y = np.array([5, 17, 27, 40, 90])
    np.testing.assert_allclose(crps_interval(x, y, y), crps(x, y), rtol=1e-12)
    exact = -np.log(((x == y[:, None]).sum(axis=1) + 0.5) / (x.shape[1] + 1))
    np.testing.assert_allclose(log_score(x, y, y), exact)


def test_log_score_is_finite_for_an_unreached_interval_and_worse_than_a_reached_one():
    x = np.arange(100.0)
    far = log_score(x, 500, 510)
    assert np.isfinite(far) and far == pytest.approx(np.log(2 * 101))
    assert log_score(x, 10, 20) < far
    assert log_score(x, 0, 99) == pytest.approx(-np.log(100.5 / 101))


@pytest.mark.parametrize("score", ["log", "crps"])
def test_scores_prefer_the_true_distribution_on_average(score):
    """Properness by simulation: observations from NB(mean 30); the true predictive beats one
    shifted by +8 and one too narrow (Poisson), averaged over many censored observations."""
    rng = np.random.default_rng(3)
    k, mean, n_obs = 4.0, 30.0, 400
    truth = rng.negative_binomial(k, k / (k + mean), n_obs)
    low, high = truth - truth % 5, truth - truth % 5 + 4  # reported in bins of 5
    forecasts = {
        "true": rng.negative_binomial(k, k / (k + mean), 4000),
        "shifted": rng.negative_binomial(k, k / (k + mean), 4000) + 8,
        "narrow": rng.poisson(mean, 4000),
    }
    f = log_score if score == "log" else crps_interval
    mean_score = {name: f(np.broadcast_to(s.astype(float), (n_obs, len(s))), low, high).mean() for name, s in forecasts.items()}
    assert mean_score["true"] < mean_score["shifted"]
    assert mean_score["true"] < mean_score["narrow"]


def test_covered_uses_overlap_with_the_central_interval():
    x = np.arange(1000.0)  # q05 ~ 50, q95 ~ 949
    assert covered(x, 40, 60) and covered(x, 500, 500)
    assert not covered(x, 0, 40) and not covered(x, 960, 2000)


def test_score_table_and_summary():
    rng = np.random.default_rng(4)
    good, bad = rng.poisson(50, 2000), rng.poisson(80, 2000)
    recs = [
        {"model": m, "target": t, "samples": s, "obs_low": lo, "obs_high": hi}
        for t, lo, hi in (("a", 48, 52), ("b", 50, 50))
        for m, s in (("good", good), ("bad", bad))
    ]
    table, summary = score_table(recs)
    assert list(table.columns) == ["model", "target", "obs_low", "obs_high", "median", "q05", "q95", "log_score", "crps", "covered_90"]
    assert len(table) == 4 and list(summary.model) == ["good", "bad"]
    s = summary.set_index("model")
    assert s.loc["good", "crps"] < s.loc["bad", "crps"] and s.loc["good", "log_score"] < s.loc["bad", "log_score"]
    assert s.loc["good", "covered_90"] == 1.0 and s.loc["bad", "covered_90"] == 0.0
    assert s.loc["good", "targets"] == 2


# --------------------------------------------------------------------------- naive forecasts

SINCE = dt.date(2023, 10, 17)


def synthetic_tallies(rate: float, k: float, days: list[int], seed: int) -> pd.DataFrame:
    """Cumulative tallies of NB(rate, k) daily counts at the given day offsets (inclusive)."""
    rng = np.random.default_rng(seed)
    daily = rng.negative_binomial(k, k / (k + rate), max(days) + 1) if np.isfinite(k) else rng.poisson(rate, max(days) + 1)
    cum = np.cumsum(daily)
    return pd.DataFrame({"date": [SINCE + dt.timedelta(days=d) for d in days], "count": cum[days]})


def test_fit_intervals_counts_days_inclusively():
    t = pd.DataFrame({"date": ["2023-10-24", "2023-10-30"], "count": [13, 23]})
    iv = fit_intervals(t, "2023-10-17")
    assert iv["days"].tolist() == [8.0, 6.0] and iv["count"].tolist() == [13.0, 10.0]
    with pytest.raises(ValueError, match="decrease"):
        fit_intervals(pd.DataFrame({"date": ["2023-10-24", "2023-10-30"], "count": [13, 12]}), "2023-10-17")


def test_dispersion_recovered_and_poisson_fallback():
    rng = np.random.default_rng(5)
    days = np.full(400, 7.0)
    k = 0.8
    over = rng.negative_binomial(k * days, k / (k + 3.0))  # sum of 7 iid NB(size k) days
    assert nb_dispersion(over, days) == pytest.approx(k, rel=0.25)
    assert nb_dispersion(np.full(50, 21.0), days[:50]) == float("inf")


def test_constant_rate_recovers_a_known_rate():
    tallies = synthetic_tallies(2.5, 2.0, list(range(6, 400, 7)), seed=6)
    end = SINCE + dt.timedelta(days=399)
    dates = [end + dt.timedelta(days=100)]
    s = constant_rate_forecast(tallies, dates, since=end + dt.timedelta(days=1), n=4000, seed=1, origin=SINCE)
    assert s.shape == (4000, 1)
    assert s.mean() / 100 == pytest.approx(2.5, rel=0.1)
    # over-dispersed daily counts: variance of a 100-day sum well above Poisson's
    assert s.var() > 1.5 * s.mean()


def test_cumulative_from_origin_adds_the_observed_count():
    tallies = pd.DataFrame({"date": ["2023-10-24", "2023-12-07"], "count": [13, 78]})
    s = constant_rate_forecast(tallies, ["2023-12-08", "2023-12-31"], since="2023-10-17", n=500, seed=2)
    assert (s[:, 0] >= 78).all() and (s[:, 1] >= s[:, 0]).all()
    with pytest.raises(ValueError, match="fit period"):
        constant_rate_forecast(tallies, ["2023-12-31"], since="2023-11-01", n=10, seed=2, origin="2023-10-17")


def test_random_walk_median_tracks_the_last_rate():
    # the rate steps from 3/day to 6/day for the last interval: the walk starts from the last rate
    tallies = pd.DataFrame({"date": [SINCE + dt.timedelta(days=d) for d in (13, 27, 41, 55)], "count": [42, 84, 126, 210]})
    fit = fit_random_walk(tallies, SINCE)
    assert fit.rate == pytest.approx(84.5 / 14)
    assert fit.sigma_week > 0
    end = SINCE + dt.timedelta(days=55)
    s = random_walk_forecast(tallies, [end + dt.timedelta(days=7)], since=end + dt.timedelta(days=1), n=20_000, seed=3, origin=SINCE)
    assert np.median(s[:, 0]) / 7 == pytest.approx(fit.rate, rel=0.15)
    c = constant_rate_forecast(tallies, [end + dt.timedelta(days=7)], since=end + dt.timedelta(days=1), n=20_000, seed=3, origin=SINCE)
    assert np.median(c[:, 0]) / 7 == pytest.approx(210 / 56, rel=0.15)


def test_random_walk_widens_with_the_horizon():
    tallies = synthetic_tallies(3.0, np.inf, list(range(6, 60, 7)), seed=7)
    tallies.loc[tallies.index[-1], "count"] += 30  # a jump, so the walk has a positive innovation s.d.
    end = SINCE + dt.timedelta(days=59)
    s = random_walk_forecast(tallies, [end + dt.timedelta(days=d) for d in (7, 70)], since=end + dt.timedelta(days=1), n=5000, seed=4, origin=SINCE)
    rate = s / np.array([7, 70])
    spread = np.quantile(rate, 0.95, axis=0) / np.quantile(rate, 0.05, axis=0)
    assert spread[1] > spread[0]


@pytest.mark.parametrize("forecast", [constant_rate_forecast, random_walk_forecast])
def test_deterministic_in_the_seed(forecast):
    tallies = synthetic_tallies(2.0, 1.5, [7, 14, 21, 35, 51], seed=8)
    dates = ["2024-01-31", "2024-02-29"]
    a = forecast(tallies, dates, since=SINCE, n=300, seed=11)
    b = forecast(tallies, dates, since=SINCE, n=300, seed=11)
    c = forecast(tallies, dates, since=SINCE, n=300, seed=12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
