"""`python -m colony_actor` is `colony-actor`."""

from colony_actor.cli.main import main

raise SystemExit(main())
