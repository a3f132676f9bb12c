"""The `escalation` command line (entry point: experiments.cli.main:main; `python -m experiments.cli` runs it too)."""
