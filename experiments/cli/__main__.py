"""`python -m experiments.cli ...` is `escalation ...`."""

from experiments.cli.main import main

main()
