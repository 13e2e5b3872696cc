"""The search forms: parsing, their SPARQL, the text search, and running them."""
