"""`python -m colony_actor` is `colony-actor`."""

from colony_actor.cli import main

raise SystemExit(main())
