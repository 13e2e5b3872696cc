"""The pyoxigraph store: pods as named graphs, reads, and writes as pure descriptions."""
