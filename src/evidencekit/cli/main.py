"""`python -m evidencekit.cli.main`: the same as the `evidencekit` command."""

from evidencekit.cli import main

if __name__ == "__main__":
    main()
