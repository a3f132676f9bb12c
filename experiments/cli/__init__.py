"""The `escalation` command line."""

from experiments.cli.main import app, main

__all__ = ["app", "main"]
