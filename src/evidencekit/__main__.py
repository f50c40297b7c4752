"""`python -m evidencekit`: the same as the `evidencekit` command."""

from evidencekit.cli import main

if __name__ == "__main__":  # worker processes import this module too
    main()
