"""What the analysis part needs from the model's configuration, in one place.

Analysis works on tables and never imports ``model`` (imports go analysis -> runner/scenario,
scenario -> model): the few configuration facts it reads (which float parameters a scenario has,
the reported strike list, the escalation ladder's levels, the strict schema base) come from here.
"""

from __future__ import annotations

from model.config import float_paths
from model.ladder import EscalationLevel
from model.params import Strict
from model.policies import reported_strikes

__all__ = ["EscalationLevel", "Strict", "float_paths", "reported_strikes"]
