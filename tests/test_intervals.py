"""Bootstrap intervals of sweep points (experiments.analysis.intervals): coverage, determinism, agreement with scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.intervals import bootstrap_means, interval_table, mean_interval, wilson_interval


def test_interval_covers_a_known_mean_at_its_nominal_rate():
    """Exponential(1) samples of 80: the 95 % interval holds the true mean 1 in about 95 % of 400 trials
    (a percentile bootstrap of a skewed mean under-covers slightly: 0.90..0.98 accepted; an interval of
    the wrong width, e.g. the 5-95 % range of the runs or a +-1 se band, lands far outside)."""
    rng = np.random.default_rng(1)
    hits = 0
    for t in range(400):
        _, lo, hi = bootstrap_means(rng.exponential(1.0, 80), resamples=1000, seed=t)
        hits += lo <= 1.0 <= hi
    assert 0.90 <= hits / 400 <= 0.98


def test_share_interval_covers_p():
    rng = np.random.default_rng(2)
    hits = sum(lo <= 0.3 <= hi for lo, hi in
               (bootstrap_means((rng.random(200) < 0.3).astype(float), resamples=1000, seed=t)[1:] for t in range(300)))
    assert 0.91 <= hits / 300 <= 0.98


def test_deterministic_and_close_to_scipy():
    from scipy.stats import bootstrap

    x = np.random.default_rng(3).normal(5, 2, 150)
    a, b = bootstrap_means(x), bootstrap_means(x)
    assert a == b  # same input, same interval, bit for bit
    ref = bootstrap((x,), np.mean, n_resamples=20000, method="percentile", random_state=0).confidence_interval
    assert a[1] == pytest.approx(ref.low, abs=0.06) and a[2] == pytest.approx(ref.high, abs=0.06)
    assert a[1] < x.mean() < a[2]


def test_columns_share_resamples_and_edge_cases():
    x = np.random.default_rng(4).normal(size=(50, 3))
    mean, lo, hi = bootstrap_means(x)
    for j in range(3):  # a column alone gets the same interval (same seed, same resamples)
        assert bootstrap_means(x[:, j]) == pytest.approx((mean[j], lo[j], hi[j]), abs=1e-12)
    assert bootstrap_means(np.zeros(40)) == (0.0, 0.0, 0.0)  # no spread: the point itself
    m1, l1, h1 = bootstrap_means(np.array([3.0]))
    assert m1 == 3.0 and np.isnan(l1) and np.isnan(h1)  # one run: no interval


def test_interval_table_groups_and_counts():
    df = pd.DataFrame({"lever": ["a"] * 100 + ["b"] * 60, "war": [1.0] * 30 + [0.0] * 70 + [0.0] * 60,
                       "attacks": np.r_[np.arange(100.0), [np.nan] * 10, np.arange(50.0)]})
    t = interval_table(df, "lever", ["war", "attacks"]).set_index(["lever", "outcome"])
    assert t.loc[("a", "war"), "n"] == 100 and t.loc[("b", "attacks"), "n"] == 50  # NaN runs are not counted
    assert t.loc[("a", "war"), "mean"] == pytest.approx(0.3)
    assert t.loc[("a", "war"), "ci_low"] < 0.3 < t.loc[("a", "war"), "ci_high"]
    assert t.loc[("a", "war"), "method"] == "wilson" and t.loc[("a", "attacks"), "method"] == "bootstrap"
    # no run at war in 60: a share gets Wilson's interval, not the bootstrap's point [0, 0]
    assert t.loc[("b", "war"), ["mean", "ci_low"]].tolist() == [0.0, 0.0]
    assert 0.05 < t.loc[("b", "war"), "ci_high"] < 0.07  # about 3.7 / 60
    assert list(t.index.get_level_values(0).unique()) == ["a", "b"]


def test_wilson_for_shares_matches_the_closed_form_and_covers():
    lo, hi = wilson_interval(np.array([0, 12, 50]), 50)
    # closed form (Wilson 1927) at z = 1.959964: 0/50 -> [0, 0.0714]; 12/50 -> [0.1430, 0.3741]; 50/50 -> [0.9286, 1]
    np.testing.assert_allclose(lo, [0.0, 0.14303, 0.92865], atol=2e-4)
    np.testing.assert_allclose(hi, [0.07135, 0.37413, 1.0], atol=2e-4)
    rng = np.random.default_rng(5)
    hits = sum(lo <= 0.02 <= hi for lo, hi in (mean_interval((rng.random(150) < 0.02).astype(float))[1:] for _ in range(2000)))
    assert hits / 2000 >= 0.93  # a rare share: the bootstrap's point intervals would miss whenever no run is at war
