"""The HTTP client of the daemon's public contract (API.md), for the CLI and users'
scripts. It must never import the daemon (api, service, jobs, colony, daemon)."""
