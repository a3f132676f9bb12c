"""`python -m experiments.cli ...` is `escalation ...`."""

import sys

try:
    from experiments.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while the command's modules load: one line, nothing was written yet
    sys.stderr.write("interrupted (Ctrl-C) while starting: nothing was written\n")
    sys.exit(130)

main()
