"""colony-actor: a Trio daemon for Colony with an asynchronous job API."""

__version__ = "0.1.0"
