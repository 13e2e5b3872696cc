"""The command line. It talks to a daemon through `client`, reads the pure-data job
catalogue and `locations`, and loads `daemon` only to run `serve`."""
