"""`escalation plot`: figures from a run folder's tables; bad folders exit 2; ODD.md holds the current tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments.cli.main import app
from experiments.cli.docs import ODD_FILE, parameter_paths, parameter_tables
from experiments.analysis.plots import (
    FIGURES,
    INTERVAL_LABEL,
    WINDOW_LABEL,
    _observed_for,
    align_to_curve,
    draw_observed,
    observed_legend,
    quantile_frame,
    read_run,
    rolling_mean,
)
from experiments.runner.run import run, write_run
from experiments.scenario.schema import load_scenario, with_overrides

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

OBSERVED = pd.DataFrame(
    [
        # contract of experiments.scenario.observed.load_observed(); each kind of figure, a date window, a secondary tally
        dict(id="a", quantity="attacks_total", since="2023-10-07", date_start="2023-10-15", date_end="2023-10-20",
             value=5.0, bound="at_least", source="004", quote="q", report="article", obs_low=5, obs_high=7),
        dict(id="b", quantity="attacks_iraq", since="2023-10-07", date_start="2023-10-18", date_end="2023-10-18",
             value=3.0, bound="exact", source="004", quote="q", report="article", obs_low=3, obs_high=3),
        dict(id="c", quantity="us_strikes_syria", since="2023-10-07", date_start="2023-10-20", date_end="2023-10-22",
             value=2.0, bound="about", source="004", quote="q", report="article", obs_low=0, obs_high=4),
        dict(id="d", quantity="us_injured", since="2023-10-25", date_start="2023-10-25", date_end="2023-10-25",
             value=40.0, bound="about", source="003", quote="single-day count: not a cumulative total", report="article",
             obs_low=36, obs_high=44),
        dict(id="e", quantity="attacks_total", since="2023-10-17", date_start="2023-10-24", date_end="2023-10-24",
             value=13.0, bound="exact", source="shared/data/pentagon_tallies.csv", quote="Pentagon count", report="secondary",
             obs_low=13, obs_high=13),
    ]
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A 3-week, 6-replicate baseline run (includes the Oct 27 historical strike)."""
    scenario = with_overrides(load_scenario(ROOT / "scenarios" / "baseline.yaml"), {"name": "tiny", "end": "2023-10-28"})
    out = tmp_path_factory.mktemp("run") / "tiny"
    write_run(run(scenario, replicates=6, seed=3), out)
    return out


@pytest.fixture(scope="module")
def figures(run_dir: Path) -> list[Path]:
    """Plot once through the CLI, with the test's source counts in place of experiments/scenario/data/observed.yaml."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("experiments.analysis.plots.load_observed_or_empty", lambda: OBSERVED)
        res = runner.invoke(app, ["plot", str(run_dir)])
    assert res.exit_code == 0, res.output
    assert "wrote 10 figures" in res.output
    return sorted((run_dir / "figures").iterdir())


def test_every_figure_is_written_as_png_and_svg(run_dir, figures):
    expected = {run_dir / "figures" / f"{name}.{ext}" for name in FIGURES for ext in ("png", "svg")}
    assert set(figures) == expected
    for path in figures:
        data = path.read_bytes()
        assert len(data) > 5000, path
        if path.suffix == ".png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            assert b"<svg" in data[:2000] and data.rstrip().endswith(b"</svg>")


def test_figures_carry_titles_subtitle_and_axis_labels(figures):
    svg = {p.stem: p.read_text() for p in figures if p.suffix == ".svg"}
    # matplotlib writes text as glyph paths but keeps each string in a comment
    for name, text in svg.items():
        assert "scenario tiny" in text and "6 replicates" in text, name
        assert "date" in text, name
    assert "Cumulative militia attacks" in svg["cumulative_attacks"]
    assert "U.S. strikes in Iraq" in svg["escalation_ladder"]
    assert "004: ≥5" in svg["cumulative_attacks"]  # "at least" is labelled as one
    for label in ("source articles (reported figure)", "Pentagon tally (secondary report)", INTERVAL_LABEL, WINDOW_LABEL):
        assert label in svg["cumulative_attacks"], label
    assert "Pentagon tally" not in svg["us_casualties"]  # legends name only what is drawn
    assert "003: ~40" not in svg["us_casualties"]  # a single-day count is not drawn on a cumulative curve


def test_quantiles_and_rolling_mean_by_hand():
    arr = np.array([[0, 10, 20, 30, 40], [1, 1, 1, 1, 1]], dtype=float)  # 2 days x 5 replicates
    q = quantile_frame(arr, pd.date_range("2024-01-01", periods=2))
    assert q["q50"].tolist() == [20, 1] and q["q05"].iloc[0] == 2 and q["q95"].iloc[0] == 38
    assert q["mean"].tolist() == [20, 1]
    x = np.array([[1.0], [2.0], [3.0], [4.0]])
    assert rolling_mean(x, 2)[:, 0].tolist() == [1.0, 1.5, 2.5, 3.5]


def test_read_run_arrays_match_the_table(run_dir):
    t = read_run(run_dir)
    daily = pd.read_parquet(run_dir / "daily.parquet")
    assert t.arrays["attacks_total"].shape == (22, 6)
    assert t.arrays["attacks_total"].sum() == daily["attacks_total"].sum()
    rep3 = daily[daily.replicate == 3].sort_values("day")["us_injured"].to_numpy()
    assert (t.arrays["us_injured"][:, 3] == rep3).all()


def test_observed_window_filter():
    obs = _observed_for(OBSERVED, "us_injured", pd.Timestamp("2023-10-07"), pd.Timestamp("2023-10-28"))
    assert obs.empty  # counts that start later than the run are not cumulative totals
    obs = _observed_for(OBSERVED, "attacks_total", pd.Timestamp("2023-10-07"), pd.Timestamp("2023-10-10"))
    assert obs.empty  # outside the plotted dates


def _date_obs(**row):
    base = dict(id="x", quantity="attacks_total", since=pd.Timestamp("2023-10-07"), date_start=pd.Timestamp("2023-10-20"),
                date_end=pd.Timestamp("2023-10-20"), value=10.0, bound="exact", source="004", report="article",
                measure="pentagon_tally", obs_low=10, obs_high=10)
    return pd.DataFrame([{**base, **row}])


@pytest.mark.parametrize(
    "row, vertical, horizontal, marker, legend",
    [
        ({}, None, False, ("o", "black"), ["source articles (reported figure)"]),
        ({"bound": "more_than", "obs_low": 11, "obs_high": 12}, (11, 12), False, ("o", "black"),
         ["source articles (reported figure)", INTERVAL_LABEL]),
        ({"date_end": pd.Timestamp("2023-10-24")}, None, True, ("o", "black"), ["source articles (reported figure)", WINDOW_LABEL]),
        ({"report": "secondary", "source": "shared/data/pentagon_tallies.csv"}, None, False, ("s", "0.45"),
         ["Pentagon tally (secondary report)"]),
    ],
)
def test_overlay_draws_each_kind(row, vertical, horizontal, marker, legend):
    """exact: a dot; interval: a vertical bar from obs_low to obs_high; window: a horizontal bar; secondary: grey square."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    obs = _date_obs(**row)
    draw_observed(ax, obs)
    segs = [seg for coll in ax.collections for seg in coll.get_segments()]
    vert = [seg for seg in segs if seg[0][0] == seg[1][0]]
    hori = [seg for seg in segs if seg[0][1] == seg[1][1]]
    if vertical:
        assert len(vert) == 1 and sorted([vert[0][0][1], vert[0][1][1]]) == list(vertical)
    else:
        assert not vert
    assert bool(hori) == horizontal
    if horizontal:
        xs = sorted([hori[0][0][0], hori[0][1][0]])
        assert xs == [mdates.date2num(obs["date_start"].iloc[0]), mdates.date2num(obs["date_end"].iloc[0])]
    dots = [ln for ln in ax.lines if ln.get_marker() in ("o", "s")]
    assert len(dots) == 1 and (dots[0].get_marker(), dots[0].get_color()) == marker and dots[0].get_ydata()[0] == 10
    assert [h.get_label() for h in observed_legend(obs)] == legend
    plt.close(fig)


def test_align_to_curve_lifts_later_counts_by_the_median_before_them():
    median = pd.Series([0.0, 2.0, 5.0, 7.0], index=pd.date_range("2023-10-07", periods=4))
    obs = pd.concat([_date_obs(), _date_obs(id="y", since=pd.Timestamp("2023-10-09"), bound="about", obs_low=8, obs_high=12)])
    lifted = align_to_curve(obs, median)
    assert lifted["value"].tolist() == [10, 12] and lifted["obs_low"].tolist() == [10, 10] and lifted["obs_high"].tolist() == [10, 14]


@pytest.mark.parametrize("case", ["missing_dir", "file", "no_manifest", "no_daily", "bad_daily", "bad_manifest"])
def test_cli_bad_run_dir_exits_2_naming_the_file(tmp_path, run_dir, case):
    target = tmp_path / "r"
    if case != "missing_dir":
        target.mkdir()
        for name in ("daily.parquet", "summary.parquet", "manifest.json"):
            (target / name).write_bytes((run_dir / name).read_bytes())
    expect = str(target)
    if case == "file":
        target = tmp_path / "f.txt"
        target.write_text("x")
        expect = "f.txt"
    elif case == "no_manifest":
        (target / "manifest.json").unlink()
        expect = "manifest.json"
    elif case == "no_daily":
        (target / "daily.parquet").unlink()
        expect = "daily.parquet"
    elif case == "bad_daily":
        (target / "daily.parquet").write_text("not parquet")
        expect = "daily.parquet"
    elif case == "bad_manifest":
        (target / "manifest.json").write_text("{")
        expect = "manifest.json"
    res = runner.invoke(app, ["plot", str(target)])
    assert res.exit_code == 2, res.output
    assert "error:" in res.output and expect in res.output.replace("\n", "")
    assert "Traceback" not in res.output
    assert not (target / "figures").exists() if target.is_dir() else True


def test_odd_contains_the_current_parameter_tables():
    text = ODD_FILE.read_text(encoding="utf-8")
    assert parameter_tables() in text, "docs/ODD.md is stale: run `python -m experiments.cli.docs`"
    missing = [p for p in parameter_paths() if f"`{p}`" not in text]
    assert not missing


def test_cli_params_prints_the_tables():
    res = runner.invoke(app, ["params"])
    assert res.exit_code == 0
    assert res.output.strip() == parameter_tables().strip()


def test_place_labels_never_overlap_even_for_coincident_points():
    """The compare trade-off figure's labels: several policies at one point (e.g. P(war) = 0 and the same
    attacks deterred) get labels that do not overlap each other or the points."""
    import matplotlib.pyplot as plt

    from experiments.analysis.plots import place_labels

    fig, ax = plt.subplots(figsize=(7, 5))
    xs, ys = [-80, -79, -81, -50, -41, 0, 46], [0, 0, 0.001, 0, 0, 0.07, 0]
    names = ["restraint", "red_line", "threshold_long_name", "graduated", "decapitation", "historical", "proportional"]
    ax.scatter(xs, ys)
    ax.margins(x=0.2, y=0.2)
    fig.tight_layout()
    anns = place_labels(ax, xs, ys, names)
    r = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(r) for a in anns]
    assert [a.get_text() for a in anns] == names
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (names[i], names[j])
    plt.close(fig)


def test_run_figure_legends_cover_no_label_or_reported_figure(tmp_path):
    """The baseline's cumulative-attacks legend covered the label '000: >165' (issue 20)."""
    import matplotlib.pyplot as plt

    from experiments.analysis.plots import DRAW, house_style, legend_conflicts, load_observed_or_empty, read_run
    write_run(run(load_scenario(ROOT / "scenarios" / "baseline.yaml"), replicates=20), tmp_path / "run")
    tables, observed = read_run(tmp_path / "run"), load_observed_or_empty()
    with house_style():
        for name, draw in DRAW.items():
            fig = draw(tables, observed)
            for ax in fig.axes:
                assert legend_conflicts(ax) == 0, (name, ax.get_title())
            plt.close(fig)
