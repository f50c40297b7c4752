"""`python -m evidencekit`: the same as the `evidencekit` command."""

from evidencekit.cli import main

main()
