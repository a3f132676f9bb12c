"""Why attacks stopped in Iraq and not in the Red Sea, in the model at its current values: the Feb 8 - Mar 31 attack rate
as a share of January's in scenarios/axis.yaml, one change at a time (obedience swapped, Iran unrestrained, no Yemen
strikes), common random numbers. Prints one line per variant (docs/ODD.md section 3.7 quotes it).

    PYTHONPATH=. .venv/bin/python benchmarks/houthi_contrast.py
"""
import datetime as dt, numpy as np
from experiments.scenario.schema import load_scenario, with_overrides
from model import EscalationModel
base = load_scenario("scenarios/axis.yaml")
d = lambda s: (dt.date.fromisoformat(s) - base.start).days
def rates(sc, R=300):
    m = EscalationModel(sc, replicates=R, seed=11).run()
    a, h = m.records["attacks_total"].astype(float), m.records["ships_attacked"].astype(float)
    jan = slice(d("2024-01-01"), d("2024-01-31") + 1); late = slice(d("2024-02-08"), d("2024-03-31") + 1)
    return a[late].mean() / a[jan].mean(), h[late].mean() / h[jan].mean(), float(m.records["iran_restraint"][d("2024-02-10")].mean())
for label, ov in [("axis (as is)", {}), ("Houthi obedience 0.7 (KH's)", {"houthis.iran_obedience": 0.7}),
                  ("Iran unrestrained", {"iran.rule": "unrestrained"}), ("no Yemen strikes", {"houthis.strikes": []}),
                  ("militia obedience 0.1 (the Houthis')", {"militias.*.iran_obedience": 0.1})]:
    sc = with_overrides(base, ov) if ov else base
    print(label, "militias Feb8-Mar31/Jan: %.2f  Houthis: %.2f  restraint Feb 10: %.2f" % rates(sc))
