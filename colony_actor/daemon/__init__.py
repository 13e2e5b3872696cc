"""The daemon process: the `serve` command's start-up, the supervisor that owns the one
nursery (runner before server), and logging. Nothing but `cli` imports it."""
