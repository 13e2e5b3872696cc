"""The full-text index of the pods' literals: it answers candidates, never a search."""
