"""The job engine: job states, the runner actor, and the job journal.

This package knows nothing of Colony, HTTP or the daemon: it imports only
`colony_actor.runtime` and itself. An operation is any async callable that takes a
progress reporter.
"""
