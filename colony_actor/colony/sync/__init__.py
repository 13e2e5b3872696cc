"""Upload, refresh and refresh to a depth: the colony's exchanges with the network."""
