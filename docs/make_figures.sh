#!/usr/bin/env bash
# Regenerate the figures shown in README.md, docs/figures.md and docs/calibration.md (docs/img/), with
# the commands and budgets docs/figures.md states. Run from the project root after `make install`.
# The app screenshot comes from the browser test (tests/test_app.py); the calibration figures from
# `escalation calibrate scenarios/calibration.yaml --publish` (results/calibration/figures/).
set -euo pipefail
cd "$(dirname "$0")/.."
E="${ESCALATION:-.venv/bin/escalation}"
img=docs/img
$E run scenarios/baseline.yaml -n 1000 --seed 1 --out results/baseline --force -q
$E plot results/baseline -q
for f in cumulative_attacks escalation_ladder us_strikes; do cp results/baseline/figures/$f.png $img/baseline_$f.png; done
$E compare scenarios/compare_policies.yaml -n 300 -w 2 --force -q
for f in escalation_curves ladder_daily pointrange; do cp results/compare_policies/$f.png $img/compare_$f.png 2>/dev/null \
  || cp results/compare_policies/figures/$f.png $img/compare_$f.png; done
$E phase-map scenarios/phase_map.yaml -n 100 --force -q
cp results/phase_map/phase_map.png $img/phase_map.png 2>/dev/null || cp results/phase_map/figures/phase_map.png $img/phase_map.png
$E sensitivity scenarios/sensitivity.yaml --samples 32 --force -q
cp results/sensitivity/sobol/sensitivity.png $img/sensitivity_sobol.png 2>/dev/null || cp results/sensitivity/sobol/figures/sensitivity.png $img/sensitivity_sobol.png
cp results/sensitivity/sobol/prim_tradeoff.png $img/prim_tradeoff.png 2>/dev/null || cp results/sensitivity/sobol/figures/prim_tradeoff.png $img/prim_tradeoff.png
$E sweep scenarios/sweep_policies_obedience.yaml --workers 2 --force -q
$E plot results/sweep_policies_obedience -q
cp results/sweep_policies_obedience/figures/envelopes.png $img/sweep_envelopes.png
cp results/sweep_policies_obedience/figures/pairs.png $img/sweep_pairs.png
$E sweep scenarios/sweep_policy_params.yaml --workers 2 --force -q
$E plot results/sweep_policy_params -q
cp results/sweep_policy_params/figures/outcomes_by_lever.png $img/sweep_outcomes_by_lever.png
$E phase-map scenarios/phase_map_policies.yaml -n 100 --force -q
cp results/phase_map_policies/figures/phase_map.png $img/phase_map_policies.png
for f in posterior_predictive targets_coverage marginals; do cp results/calibration/figures/$f.png $img/calibration_$f.png; done
echo "figures written to $img/"
