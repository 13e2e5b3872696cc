"""The Colony domain: pods in a pyoxigraph store, keys, and the network.

This package knows nothing of jobs or HTTP; it must never import `colony_actor.jobs`
or `colony_actor.api`.
"""
