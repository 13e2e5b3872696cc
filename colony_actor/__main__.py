"""`python -m colony_actor` is `colony-actor`."""

from colony_actor.cli.main import main

# Spawned worker processes import the main module again: only a real start runs the CLI.
if __name__ == "__main__":
    raise SystemExit(main())
