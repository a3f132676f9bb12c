"""Why attacks stopped in Iraq and not in the Red Sea, in the model (issue 21 item 5: the answer to 000's question).

The decomposition runs scenarios/axis.yaml and its variants on common random numbers: Iran's restraint removed,
obedience to Iran swapped between the theatres, strike sizes swapped. The tests check the variants are what they
say (sizes swapped rank for rank on the theatres' own dates; obedience swapped per posterior draw), that the
numbers answer the question the way the mechanisms imply (removing Iran's restraint moves Iraq's share far more
than the Red Sea's; swapping obedience moves each theatre toward the other), and that the table, the report
section and the reading are rebuilt from the stored per-replicate parquet.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from experiments.analysis import decomposition as dec
from experiments.scenario.schema import load_scenario
from tests.conftest import ROOT, assert_one_line_error, invoke, write_yaml
from tests.test_plan import _assert_once, checks  # noqa: F401  (the fixture counting each check)

AXIS = ROOT / "scenarios" / "axis.yaml"
N = 120


@pytest.fixture(scope="module")
def axis():
    return load_scenario(AXIS)


@pytest.fixture(scope="module")
def result(axis):
    return dec.decompose(axis, N, 11)


def row(summary: pd.DataFrame, variant: str, theatre: str) -> pd.Series:
    return summary[(summary.variant == variant) & (summary.theatre == theatre)].iloc[0]


# --------------------------------------------------------------------------- the variants are what they say


def strike(date: str, size: int) -> dict:
    return {"date": date, "targets": size}


def test_sizes_swap_rank_for_rank_with_equal_counts():
    own = [strike("2024-01-01", 5), strike("2024-01-02", 50), strike("2024-01-03", 1)]
    other = [strike("2024-02-01", 7), strike("2024-02-02", 3), strike("2024-02-03", 90)]
    assert dec.swapped_sizes(own, other) == [7, 90, 3]  # largest gets largest, smallest smallest
    assert sorted(dec.swapped_sizes(other, own)) == [1, 5, 50]  # and back: the multisets are exchanged


def test_sizes_swap_by_rank_quantile_with_unequal_counts():
    own = [strike(f"2024-01-0{i + 1}", s) for i, s in enumerate([4, 4, 9, 1, 2])]  # ties: earlier first
    other = [strike("2024-02-01", 60), strike("2024-02-02", 8)]
    # ranks 0..4 of 5 -> ranks round(i / 4) of 2: 0, 0, 1 (0.5 rounds up), 1, 1
    assert dec.swapped_sizes(own, other) == [60, 8, 60, 8, 8]
    assert dec.swapped_sizes(other, own) == [9, 1]  # rank 0 -> largest, rank 1 -> the smallest of five


def test_strike_sizes_swapped_keep_each_theatres_dates_and_the_iraq_details(axis):
    iraq, yemen = dec.iraq_strikes(axis), dec.yemen_strikes(axis)
    swapped = dec.swap_strike_sizes(axis)
    new_iraq, new_yemen = dec.iraq_strikes(swapped), dec.yemen_strikes(swapped)
    assert [s["date"] for s in new_iraq] == [s["date"] for s in iraq]
    assert [str(s["date"]) for s in new_yemen] == [str(s["date"]) for s in yemen]
    for old, new in zip(iraq, new_iraq):
        assert (old.get("leader"), old.get("group"), old.get("irgc_share")) == (new.get("leader"), new.get("group"), new.get("irgc_share"))
        if old["iraq"] == 0:
            assert new["iraq"] == 0  # a strike in Syria stays in Syria
    sizes = lambda ss: sorted((dec._size(s) for s in ss), reverse=True)  # noqa: E731
    assert sizes(new_iraq)[0] == sizes(yemen)[0] and sizes(new_yemen)[0] == sizes(iraq)[0]
    assert set(sizes(new_iraq)) <= set(sizes(yemen)) and set(sizes(new_yemen)) <= set(sizes(iraq))
    # the largest Iraq strike (Feb 2, 85 targets) takes the Red Sea's largest wave (Jan 11, 60 targets)
    feb2 = next(s for s in new_iraq if str(s["date"]) == "2024-02-02")
    assert dec._size(feb2) == max(dec._size(s) for s in yemen)


def test_obedience_swapped_without_a_posterior(axis):
    sc, draws = dec.swap_obedience(axis, None)
    assert draws is None
    assert all(m.iran_obedience == axis.houthis.iran_obedience for m in sc.militias)
    assert sc.houthis.iran_obedience == pytest.approx(np.mean([m.iran_obedience for m in axis.militias]))


def test_obedience_swapped_per_posterior_draw(axis):
    draws = pd.DataFrame({"militias.*.iran_obedience": [0.3, 0.5, 0.7], "militias.0.iran_obedience": [0.9, 0.8, 0.6],
                          "houthis.iran_obedience": [0.05, 0.1, 0.2], "houthis.base_rate": [0.5, 0.6, 0.7], "weight": [1, 1, 2]})
    sc, out = dec.swap_obedience(axis, draws)
    n = len(axis.militias)
    assert "militias.*.iran_obedience" not in out
    for i in range(n):
        assert out[f"militias.{i}.iran_obedience"].tolist() == [0.05, 0.1, 0.2]
    expected = [(0.9 + (n - 1) * 0.3) / n, (0.8 + (n - 1) * 0.5) / n, (0.6 + (n - 1) * 0.7) / n]
    assert out["houthis.iran_obedience"].to_numpy() == pytest.approx(expected)
    assert out["houthis.base_rate"].tolist() == [0.5, 0.6, 0.7] and out["weight"].tolist() == [1, 1, 2]
    assert len(out) == len(draws)  # same rows: replicate r draws the same row in every variant


# --------------------------------------------------------------------------- the answer


def test_the_model_reproduces_the_contrast(result):
    s = result.summary
    iq, rs = row(s, "as modelled", "Iraq/Syria"), row(s, "as modelled", "Red Sea")
    assert iq["pooled_share"] < 0.2 and rs["pooled_share"] > 0.5
    assert iq["stopped"] > 0.6 and rs["stopped"] < 0.4  # attacks stopped in most runs in Iraq, in few in the Red Sea


def test_stopped_is_the_share_of_runs_at_or_below_the_threshold(result):
    per = result.per_replicate
    g = per[(per.variant == "as modelled") & (per.theatre == "Red Sea")].share.dropna()
    assert row(result.summary, "as modelled", "Red Sea")["stopped"] == pytest.approx((g <= dec.STOPPED).mean())


def test_removing_irans_restraint_moves_iraq_far_more_than_the_red_sea(result):
    """Fails if Iran's restraint reached the Houthis as strongly as the Iraqi groups (or did not stop the groups)."""
    s = result.summary
    iq, rs = row(s, "Iran unrestrained", "Iraq/Syria"), row(s, "Iran unrestrained", "Red Sea")
    assert iq["pooled_share"] > 0.5 and iq["change_low"] > 0  # the groups no longer stop, in nearly every replicate
    assert abs(iq["change_median"]) > 5 * abs(rs["change_median"])
    assert rs["change_low"] < 0.2


def test_swapping_obedience_moves_each_theatre_toward_the_other(result):
    """Fails if obedience did not carry Iran's restraint (the theatres would not move)."""
    s = result.summary
    base_iq, base_rs = row(s, "as modelled", "Iraq/Syria"), row(s, "as modelled", "Red Sea")
    iq, rs = row(s, "obedience swapped", "Iraq/Syria"), row(s, "obedience swapped", "Red Sea")
    assert iq["pooled_share"] > base_iq["pooled_share"] + 0.3 and iq["change_median"] > 0.3
    assert rs["pooled_share"] < base_rs["pooled_share"] - 0.3 and rs["change_median"] < -0.3
    assert iq["stopped"] < base_iq["stopped"] - 0.3 and rs["stopped"] > base_rs["stopped"] + 0.3  # who stops swaps


def test_swapping_strike_sizes_does_not_explain_the_contrast(result):
    s = result.summary
    gap = lambda v: row(s, v, "Red Sea")["pooled_share"] - row(s, v, "Iraq/Syria")["pooled_share"]  # noqa: E731
    assert abs(gap("strike sizes swapped") - gap("as modelled")) < 0.5 * gap("as modelled")
    assert row(s, "strike sizes swapped", "Iraq/Syria")["pooled_share"] < 0.2  # Iraq still stops with the Red Sea's strikes


def test_common_random_numbers_make_the_reference_change_zero(result):
    ref = result.summary[result.summary.variant == "as modelled"]
    assert (ref[["change_median", "change_low", "change_high"]] == 0).all().all()
    per = result.per_replicate
    assert set(per.variant) == set(dec.VARIANTS) and len(per) == len(dec.VARIANTS) * len(dec.THEATRES) * N


def test_reading_names_the_mechanisms_from_the_numbers(result):
    text = dec.reading(result.summary)
    assert "because Iran's restraint is what stops the Iraqi groups" in text
    assert "obey Iran far less" in text and "not because the theatres were struck differently" in text
    # the same table with the Red Sea stopping too: nothing to decompose
    flat = result.summary.copy()
    flat.loc[flat.theatre == "Red Sea", "pooled_share"] = 0.05
    assert "does not reproduce the contrast" in dec.reading(flat)


def test_reading_follows_the_numbers_when_strikes_carry_the_contrast(result):
    s = result.summary.copy()
    sel = (s.variant == "strike sizes swapped") & (s.theatre == "Red Sea")
    s.loc[sel, "pooled_share"] = 0.05
    assert "the strikes' sizes carry part of it" in dec.reading(s)


def test_a_swap_that_widens_the_gap_does_not_carry_the_contrast(result):
    """Swapping strike sizes so that the Red Sea runs even higher widens the gap: the strikes worked against the
    contrast, so the reading must not count them as part of its explanation (it did, by the gap's absolute change)."""
    s = result.summary.copy()
    base = s[(s.variant == "as modelled") & (s.theatre == "Red Sea")]["pooled_share"].iloc[0]
    s.loc[(s.variant == "strike sizes swapped") & (s.theatre == "Red Sea"), "pooled_share"] = base + 1.0
    text = dec.reading(s)
    assert "not because the theatres were struck differently" in text and "(wider" in text
    assert "carry part of it" not in text


# --------------------------------------------------------------------------- the command, the files, the report


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("dec") / "decomposition"
    res = invoke("decompose", AXIS, "--out", out, "--replicates", 40, "--seed", 5)
    assert res.exit_code == 0, res.output
    return out, res.output


def test_command_writes_the_table_figure_and_section(written):
    out, text = written
    for f in ("decomposition.parquet", "shares.parquet", "shares.csv", "decomposition.md", "figures/decomposition.png", "manifest.json"):
        assert (out / f).is_file(), f
    man = json.loads((out / "manifest.json").read_text())
    assert man["kind"] == "decomposition" and man["replicates"] == 40 and man["seed"] == 5
    carried = load_scenario(AXIS).uncertainty
    said = "posterior draws from" if carried is not None and carried.posterior else "no posterior"
    assert said in man["decomposition"]["posterior"] and said in text  # what the numbers rest on, said
    assert "So, in the model" in text


def test_table_is_reproducible_from_the_parquet(written):
    out, _ = written
    per = pd.read_parquet(out / "decomposition.parquet")
    pd.testing.assert_frame_equal(dec.summarise(per), pd.read_parquet(out / "shares.parquet"))
    # the per-replicate rows themselves: the share is the ratio of the two stored rates
    ok = per.january > 0
    assert np.allclose(per.share[ok], per.feb8_mar31[ok] / per.january[ok]) and per.share[~ok].isna().all()
    md = (out / "decomposition.md").read_text()
    assert dec.table_markdown(dec.summarise(per)) in md and dec.reading(dec.summarise(per)) in md
    iq = row(dec.summarise(per), "Iran unrestrained", "Iraq/Syria")
    assert f"**{iq.pooled_share:.2f}**" in md


def test_same_seed_same_numbers(written, axis, tmp_path):
    out, _ = written
    again = dec.decompose(axis, 40, 5).per_replicate
    pd.testing.assert_frame_equal(again, pd.read_parquet(out / "decomposition.parquet"))


def test_report_shows_the_decomposition(written):
    out, _ = written
    res = invoke("report", out)
    assert res.exit_code == 0, res.output
    page = (out / "report.html").read_text()
    assert "Why attacks stopped in Iraq and not in the Red Sea" in page and "obedience swapped" in page
    assert "So, in the model, attacks stopped in Iraq" in page.replace("&#x27;", "'")


def test_a_scenario_without_the_red_sea_is_refused_before_simulating(tmp_path):
    res = invoke("decompose", ROOT / "scenarios" / "baseline.yaml", "--out", tmp_path / "x")
    assert_one_line_error(res, "houthis.enabled")
    assert not (tmp_path / "x").exists()


def test_a_scenario_ending_before_march_is_refused(tmp_path):
    f = write_yaml(tmp_path / "short.yaml", {"name": "short_axis", "extends": str(AXIS), "end": "2024-02-20"})
    assert_one_line_error(invoke("decompose", f, "--out", tmp_path / "x"), "2024-03-31")


def test_the_command_takes_the_posterior_the_scenario_carries(tmp_path, axis):
    """Rerunning after the joint calibration is one command: the scenario's draws are used (Houthi obedience per
    draw here), replicate r carries the same draw in every variant, and the swap moves the drawn values."""
    draws = pd.DataFrame({"houthis.iran_obedience": [0.0, 0.35], "weight": [1.0, 1.0]})
    draws.to_parquet(tmp_path / "post.parquet")
    f = write_yaml(tmp_path / "axis_post.yaml", {"name": "axis_post", "extends": str(AXIS),
                                                  "uncertainty": {"posterior": "post.parquet"}})
    sc = load_scenario(f)
    plans = dec.variants(sc, draws)
    assert plans["obedience swapped"][1]["militias.0.iran_obedience"].tolist() == [0.0, 0.35]
    r = dec.decompose(sc, 30, 3, base_dir=tmp_path)
    assert "posterior draws from" in r.info["posterior"] and "houthis.iran_obedience" in r.info["posterior"]
    bare = write_yaml(tmp_path / "axis_bare.yaml", {"name": "axis_post", "extends": str(AXIS), "uncertainty": {"posterior": None}})
    base = dec.decompose(load_scenario(bare), 30, 3)
    # Houthi obedience is drawn, so the Red Sea differs from the scenario without a posterior; Iraq does not
    # (Yemen's side does not feed Iran's restraint)
    per, per0 = r.per_replicate, base.per_replicate
    sel = lambda p, t: p[(p.variant == "as modelled") & (p.theatre == t)].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(sel(per, "Iraq/Syria"), sel(per0, "Iraq/Syria"))
    assert not sel(per, "Red Sea").equals(sel(per0, "Red Sea"))


def test_a_run_folder_holding_a_decomposition_reports_it(written, tmp_path):
    """`escalation decompose` writes to results/<scenario>/decomposition by default, beside the run's tables: the
    run's report shows the decomposition (table, reading and figure)."""
    import shutil

    out, _ = written
    run_dir = tmp_path / "axis"
    assert invoke("run", AXIS, "-n", 3, "--out", run_dir, "-q").exit_code == 0
    shutil.copytree(out, run_dir / "decomposition")
    res = invoke("report", run_dir)
    assert res.exit_code == 0, res.output
    page = (run_dir / "report.html").read_text().replace("&#x27;", "'")
    assert "Why attacks stopped in Iraq and not in the Red Sea" in page and "So, in the model" in page
    assert 'alt="decomposition"' in page


def test_publish_writes_the_docs_section_between_its_markers(written, tmp_path):
    out, _ = written
    doc = tmp_path / "docs" / "red_sea.md"
    doc.parent.mkdir()
    doc.write_text("# The Red Sea\n\nhand-written text stays\n", encoding="utf-8")
    dec.publish(out, doc=doc)
    first = doc.read_text(encoding="utf-8")
    assert first.startswith("# The Red Sea\n\nhand-written text stays\n")
    assert "<!-- decomposition: begin -->" in first and "<!-- decomposition: end -->" in first
    assert dec.table_markdown(dec.summarise(pd.read_parquet(out / "decomposition.parquet"))) in first
    assert "escalation decompose scenarios/axis.yaml" in first  # names the command that regenerates it
    assert (tmp_path / "docs" / "img" / "decomposition.png").is_file()
    dec.publish(out, doc=doc)
    assert doc.read_text(encoding="utf-8") == first  # replaced in place, not appended


def test_the_shipped_docs_carry_the_decomposition():
    text = (ROOT / "docs" / "red_sea.md").read_text(encoding="utf-8")
    for key, (command, image, _) in dec.SECTIONS.items():
        assert f"<!-- {key}: begin -->" in text and command in text, key
        assert (ROOT / "docs" / "img" / image).is_file()
    assert "So, in the model, attacks stopped in Iraq and not in the Red Sea because" in text


def test_decompose_checks_seed_budget_folder_and_lock_once(tmp_path, checks):
    """Plan, then execute (experiments/runner/plan.py): each check made once, in the library."""
    res = invoke("decompose", AXIS, "-n", 4, "--seed", 3, "--out", tmp_path / "out", "-w", 1, "-q")
    assert res.exit_code == 0, res.output
    _assert_once(checks, "seed", "budget", "folder", "lock")
