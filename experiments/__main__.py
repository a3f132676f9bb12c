"""`python -m experiments ...` is `escalation ...` (as is `python -m experiments.cli ...`)."""

from experiments.cli.main import main

main()
