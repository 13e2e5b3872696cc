"""The job engine: job states, the runner actor, and the job journal.

This package knows nothing of Colony or HTTP; it must never import `colony_actor.colony`
or `colony_actor.api`. An operation is any async callable that takes a progress reporter.
"""
