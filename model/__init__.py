"""Batched Mesa model of the 2023-24 militia attacks on U.S. forces and the U.S. deterrence response."""

from model.actors import ACTORS
from model.config import ModelConfig, float_paths
from model.ladder import EscalationLevel
from model.model import EscalationModel
from model.outputs import COUNT_COLUMNS, DAILY_COLUMNS
from model.rules import REGISTRY, make_rule

__all__ = ["ACTORS", "COUNT_COLUMNS", "DAILY_COLUMNS", "EscalationLevel", "EscalationModel", "ModelConfig", "REGISTRY", "float_paths", "make_rule"]
