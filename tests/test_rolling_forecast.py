"""Rolling-origin forecasts (experiments/analysis/rolling.py, `escalation forecast`): scores against closed
forms, the naive forecasters on synthetic tallies, the leak test and the command end to end."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from typer.testing import CliRunner

from experiments.analysis import forecast as fc
from experiments.analysis.rolling import MODEL, REFERENCE, check_origins, goal, rolling_forecast, score_origin, summarise
from experiments.scenario.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = ROOT / "scenarios" / "calibration.yaml"
SINCE = dt.date(2023, 10, 17)


# --------------------------------------------------------------------------- scores against closed forms


def poisson_crps(mu: float, y: int) -> float:
    """CRPS of Poisson(mu) at integer y: sum over k of (F(k) - 1{k >= y})^2 (F is constant on [k, k + 1))."""
    k = np.arange(0, int(mu + 20 * np.sqrt(mu) + 50))
    return float(((stats.poisson.cdf(k, mu) - (k >= y)) ** 2).sum())


@pytest.mark.parametrize("mu, y", [(3.0, 0), (12.0, 12), (12.0, 25), (40.0, 31)])
def test_sample_crps_and_mid_pit_match_poisson_closed_forms(mu, y):
    x = np.random.default_rng(1).poisson(mu, 200_000)
    assert fc.crps(x, y) == pytest.approx(poisson_crps(mu, y), rel=0.02, abs=0.01)
    mid = stats.poisson.cdf(y - 1, mu) + 0.5 * stats.poisson.pmf(y, mu)
    assert fc.pit_mid(x, y, y) == pytest.approx(mid, abs=0.005)


def test_score_report_exact_interval_and_lower_bound():
    x = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], dtype=float)
    exact = fc.score_report(x, 4, 4)
    assert exact["pit"] == pytest.approx(0.45)  # 4 below, 1 at: 0.4 + 0.1 / 2
    assert exact["crps"] == pytest.approx(fc.crps(x, 4))
    assert exact["log_score"] == pytest.approx(-np.log(1.5 / 11))
    about = fc.score_report(x, 2, 5)
    assert about["pit"] == pytest.approx(0.2 + 0.4 / 2)
    assert about["crps"] == pytest.approx(np.mean([fc.crps(x, y) for y in range(2, 6)]))
    lower = fc.score_report(x, 7, np.inf, "more_than")  # "more than 6": P(X >= 7) = 3 of 10
    assert np.isnan(lower["crps"]) and np.isnan(lower["pit"])
    assert lower["log_score"] == pytest.approx(-np.log(3.5 / 11))


# --------------------------------------------------------------------------- naive forecasters, known scores


def synthetic_tallies(weekly: list[int], quantity: str = "attacks_total") -> pd.DataFrame:
    """Running tallies every 7 days from Oct 17 (first on Oct 23), exact reports."""
    dates = [SINCE + dt.timedelta(days=6 + 7 * i) for i in range(len(weekly))]
    cum = np.cumsum(weekly).astype(float)
    return pd.DataFrame({"id": [f"t{i}" for i in range(len(weekly))], "quantity": quantity, "date": dates, "value": cum,
                         "bound": "exact", "obs_low": cum, "obs_high": cum})


@pytest.mark.parametrize("weekly, expected_mu", [
    # a steady 2 a day: every constant forecaster is Poisson(14) a week (the NB falls back to Poisson: no
    # over-dispersion); the walk starts from (14 + 1/2) / 7 a day with no spread (no change in the log rates)
    ([14, 14, 14, 14, 14, 14], {"constant rate, Poisson": 14, "constant rate, NB": 14, "NB random walk": 14.5, "last increment": 14}),
    # the fifth week doubles: the constant rate averages 84 / 35 a day, the last increment repeats 28 a week
    ([14, 14, 14, 14, 28, 14], {"constant rate, Poisson": 16.8, "last increment": 28}),
])
def test_naive_forecasters_score_as_their_closed_forms(weekly, expected_mu):
    tallies = synthetic_tallies(weekly)
    origin = tallies["date"].iloc[-2]  # the last week is the truth to forecast, from the reported count before it
    y = weekly[-1]
    dates = [tallies["date"].iloc[-1]]
    model = {q: np.full((4, 1), np.nan) for q in ("attacks_total", "attacks_iraq", "attacks_syria")}
    sc = score_origin(tallies, origin, model, dates, seed=5, n_naive=200_000).set_index("forecaster")
    assert (sc["obs_low"] == y).all() and (sc["anchor"] == tallies["value"].iloc[-2]).all()
    for name, mu in expected_mu.items():
        assert sc.loc[name, "crps"] == pytest.approx(poisson_crps(mu, y), rel=0.03), name
        mid = stats.poisson.cdf(y - 1, mu) + 0.5 * stats.poisson.pmf(y, mu)
        assert sc.loc[name, "pit"] == pytest.approx(mid, abs=0.006), name
        assert sc.loc[name, "log_score"] == pytest.approx(-np.log(stats.poisson.pmf(y, mu)), rel=0.02), name


def test_nb_random_walk_spreads_after_a_jump():
    tallies = synthetic_tallies([14, 14, 14, 14, 28, 14])
    dates = [tallies["date"].iloc[-1]]
    model = {q: np.full((4, 1), np.nan) for q in ("attacks_total", "attacks_iraq", "attacks_syria")}
    sc = score_origin(tallies, tallies["date"].iloc[-2], model, dates, seed=5, n_naive=50_000).set_index("forecaster")
    assert sc.loc["NB random walk", "q95"] - sc.loc["NB random walk", "q05"] > sc.loc["last increment", "q95"] - sc.loc["last increment", "q05"]


def test_goal_needs_every_origin_and_every_pit():
    rows = []
    for o, (m_crps, pit) in {"a": (1.0, 0.5), "b": (2.0, 0.2)}.items():
        rows += [{"origin": o, "date": 1, "quantity": "attacks_total", "forecaster": MODEL, "crps": m_crps, "log_score": 1.0, "pit": pit},
                 {"origin": o, "date": 1, "quantity": "attacks_total", "forecaster": REFERENCE, "crps": 2.0, "log_score": 1.0, "pit": 0.5},
                 {"origin": o, "date": 2, "quantity": "attacks_total", "forecaster": MODEL, "crps": np.nan, "log_score": 1.0, "pit": np.nan},
                 {"origin": o, "date": 2, "quantity": "attacks_total", "forecaster": REFERENCE, "crps": np.nan, "log_score": 1.0, "pit": np.nan}]
    scores = pd.DataFrame(rows)
    g = goal(scores, summarise(scores))["all"]
    assert g["met"] and g["crps_ratio"] == {"a": 0.5, "b": 1.0} and g["crps_ratio_overall"] == pytest.approx(0.75)
    assert g["pit_scored"] == 2  # the censored rows have no PIT
    scores.loc[1, "crps"] = 0.9  # the reference beats the model at origin a
    assert not goal(scores, summarise(scores))["all"]["met"]
    scores.loc[1, "crps"], scores.loc[4, "pit"] = 2.0, 0.05  # a PIT outside [0.1, 0.9]
    g = goal(scores, summarise(scores))["all"]
    assert g["crps_at_most_reference_everywhere"] and not g["met"]


# --------------------------------------------------------------------------- the model: leak test


def _calibration(tmp_path: Path, observed: dict | None = None, budget: int = 150):
    from experiments.analysis.calibration.config import build_calibration, load_calibration
    from experiments.scenario.schema import load_scenario

    cal = load_calibration(CALIBRATION, budget=budget, chunk_size=budget)
    if observed is None:
        return cal
    path = tmp_path / f"obs{len(list(tmp_path.glob('obs*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(observed, sort_keys=False))
    return build_calibration(cal.config.model_copy(update={"observed": str(path)}), load_scenario(ROOT / "scenarios" / cal.config.base))


def _observed() -> dict:
    return yaml.safe_load((ROOT / "experiments" / "scenario" / "data" / "observed.yaml").read_text())


def test_data_after_an_origin_leave_its_forecast_bit_identical(tmp_path):
    origin = dt.date(2023, 12, 7)

    def forecast(cal):
        return rolling_forecast(cal, [origin], samples=150, executor=1, long_run=False)

    base = forecast(_calibration(tmp_path))
    later = _observed()
    changed = 0
    for c in later["counts"]:
        if pd.Timestamp(c["date_end"]).date() > origin:
            c["value"] = c["value"] + 17  # every later datum, tallies and articles alike
            changed += 1
    assert changed >= 10
    moved = forecast(_calibration(tmp_path, later))
    pd.testing.assert_frame_equal(base.predictive, moved.predictive, check_exact=True)
    # ... while the scores, which read the later data, move, and a datum by the origin moves the forecast
    assert not base.scores["obs_low"].equals(moved.scores["obs_low"])
    earlier = _observed()
    next(c for c in earlier["counts"] if c["id"] == "tally_dec03_total")["value"] = 74
    other = forecast(_calibration(tmp_path, earlier))
    assert not base.predictive.equals(other.predictive)


def test_forecast_starts_from_the_reported_count_and_is_deterministic(tmp_path):
    cal = _calibration(tmp_path)
    a = rolling_forecast(cal, [dt.date(2024, 1, 9)], samples=200, executor=1, long_run=False)
    p = a.predictive
    assert set(p["date"]) == {dt.date(2024, 1, 18), dt.date(2024, 1, 24), dt.date(2024, 2, 13)}
    assert (p["attacks_total"] >= 127).all() and (p["attacks_iraq"] >= 52).all() and (p["attacks_syria"] >= 75).all()
    later = p.pivot(index="sample", columns="date", values="attacks_total")
    assert (later.diff(axis=1).iloc[:, 1:] >= 0).all().all()  # cumulative along each sample path
    b = rolling_forecast(cal, [dt.date(2023, 12, 21), dt.date(2024, 1, 9)], samples=200, executor=2, long_run=False)
    pd.testing.assert_frame_equal(p.reset_index(drop=True),
                                  b.predictive[b.predictive["origin"] == dt.date(2024, 1, 9)].reset_index(drop=True), check_exact=True)
    assert set(a.scores["forecaster"]) == {MODEL, *fc.NAIVE_FORECASTERS}


@pytest.mark.parametrize("origins, message", [
    ([dt.date(2024, 2, 13)], "nothing to forecast"),
    ([dt.date(2023, 10, 20)], "before the first tally"),
    ([dt.date(2024, 1, 30)], "lower bound"),
    ([dt.date(2024, 1, 9), dt.date(2024, 1, 9)], "twice"),
])
def test_bad_origins_are_one_line_errors(tmp_path, origins, message):
    with pytest.raises(UserError, match=message):
        check_origins(_calibration(tmp_path), origins)


# --------------------------------------------------------------------------- the command end to end


@pytest.mark.slow
def test_cli_end_to_end_writes_the_tables_and_resumes(tmp_path):
    from experiments.cli.main import app

    out = tmp_path / "fc"
    args = ["forecast", str(CALIBRATION), "--origins", "2024-01-09,2023-12-21", "-n", "100", "--samples", "1000",
            "--out", str(out), "--workers", "1", "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    pred = pd.read_parquet(out / "predictive.parquet")
    assert list(pred.columns) == ["origin", "date", "sample", "attacks_total", "attacks_iraq", "attacks_syria"]
    n = pred.groupby(["origin", "date"])["sample"].agg(["count", "nunique"])
    assert (n["count"] >= 1000).all() and (n["count"] == n["nunique"]).all()
    scores = pd.read_parquet(out / "scores.parquet")
    assert {"origin", "date", "forecaster", "crps", "log_score", "pit"} <= set(scores.columns)
    assert set(scores["forecaster"]) == {MODEL, *fc.NAIVE_FORECASTERS}
    # Dec 21 -> Jan 9, Jan 18, Jan 24 (lower bound: log score only), Feb 13; Iraq and Syria on Jan 9 and 18
    dec21 = scores[(scores["origin"] == dt.date(2023, 12, 21)) & (scores["forecaster"] == MODEL)]
    assert len(dec21) == 8 and dec21["crps"].isna().sum() == 1 and dec21["log_score"].notna().all()
    for f in ("figures/forecast_pit.png", "figures/forecast_pit.svg", "figures/forecast_scores.png", "figures/forecast_scores.svg",
              "long_run.parquet", "forecast.json"):
        assert (out / f).exists(), f
    lr = pd.read_parquet(out / "long_run.parquet")
    assert lr["date"].max() == dt.date(2024, 12, 31) and (lr["attacks_total"] >= 170).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "forecast" and manifest["origins"] == ["2023-12-21", "2024-01-09"]
    # a rerun reuses the finished parts and writes the same tables
    before = (out / "scores.parquet").read_bytes()
    assert CliRunner().invoke(app, args).exit_code == 0
    assert (out / "scores.parquet").read_bytes() == before
    # the docs section is generated from the folder
    from experiments.analysis.rolling_doc import BEGIN, END, rewrite

    doc = tmp_path / "doc.md"
    doc.write_text(f"# x\n{BEGIN}\nstale section\n{END}\ntail\n")
    rewrite(out, doc, figures=False)
    text = doc.read_text()
    assert "stale section" not in text and text.endswith("tail\n") and "| Dec 21, 2023 |" in text and "Dec 31, 2024" in text
    bad = CliRunner().invoke(app, ["forecast", str(CALIBRATION), "--origins", "2024-02-30", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--origins" in bad.output and not (tmp_path / "x").exists()


def test_the_shared_refit_at_the_cut_is_the_out_of_time_posterior(tmp_path):
    """Rejection refits share one prior sample: at the out-of-time check's cut the posterior is that check's."""
    from experiments.analysis.calibration.abc import fit_posterior
    from experiments.analysis.calibration.config import summaries_known_by
    from experiments.analysis.calibration.out_of_time import OUT_OF_TIME_STREAM
    from experiments.analysis.rolling import known_mask, refit_calibration, refit_posteriors

    cal = _calibration(tmp_path)
    cut = cal.config.out_of_time.fit_until
    _, post, ids = refit_posteriors(cal, [cut], executor=1)[cut]
    refit = summaries_known_by(refit_calibration(cal), cut)  # as out_of_time(): no summary reported after the cut
    ref = fit_posterior(refit, mask=known_mask(refit, cut), executor=1, block_base=OUT_OF_TIME_STREAM).posterior
    np.testing.assert_array_equal(post.values, ref.values)
    np.testing.assert_array_equal(post.weights, ref.weights)
    assert "attacks_total_feb6_000" not in ids and "tally_dec07_total-tally_dec03_total" in ids


# --------------------------------------------------------------------------- the start state


def test_start_state_keeps_the_runs_closest_to_the_latest_reports_and_reads_nothing_older_or_later():
    from experiments.analysis.rolling import RECENT_DAYS, condition_on_recent, recent_intervals

    tallies = synthetic_tallies([14, 14, 14, 14, 14, 14])  # tallies on Oct 23, 30, Nov 6, 13, 20, 27
    origin = dt.date(2023, 11, 21)  # 21 days back: Oct 31, so the Oct 23 -> 30 interval is not read
    days = [SINCE + dt.timedelta(days=i) for i in range(60)]
    # run r attacks r/10 a day from day 0 (Oct 17): its increment over a week is 0.7 r
    n = 100
    rate = np.arange(n) / 10.0
    cum = np.outer(np.arange(1, len(days) + 1), rate)
    curves = {"attacks_total": cum, "attacks_iraq": cum * 0.5, "attacks_syria": cum * 0.5}
    assert [(a["date"], b["date"]) for _, a, b in recent_intervals(tallies, origin)] == [
        (dt.date(2023, 10, 30), dt.date(2023, 11, 6)), (dt.date(2023, 11, 6), dt.date(2023, 11, 13)),
        (dt.date(2023, 11, 13), dt.date(2023, 11, 20))]  # Nov 27 is after the origin
    assert RECENT_DAYS == 21
    kept, info = condition_on_recent(days, curves, tallies, origin, samples=10)
    got = kept["attacks_total"][-1] / len(days) * 10  # back to r
    assert sorted(np.round(got).astype(int)) == list(range(15, 25))  # 14 a week = run 20: the ten closest
    assert info["runs"] == n and info["kept"] == 10
    moved = tallies.copy()
    moved.loc[moved["date"] > origin, ["value", "obs_low", "obs_high"]] += 50  # a later tally: no change
    moved.loc[moved["date"] < dt.date(2023, 10, 30), ["value", "obs_low", "obs_high"]] -= 5  # an older one: none either
    again, _ = condition_on_recent(days, curves, moved, origin, samples=10)
    np.testing.assert_array_equal(again["attacks_total"], kept["attacks_total"])
