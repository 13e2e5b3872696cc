"""The command line. It talks to a daemon only through `client`, reads `locations`, and
loads `daemon` only to run `serve`."""
