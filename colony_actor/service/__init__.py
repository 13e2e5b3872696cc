"""The one place jobs meet colony: settings, the job catalogue and its bindings to Colony
calls, the daemon's identity, tokens, metrics, and the wiring the daemon and the tests
both use. It may import `jobs`, `colony` and `runtime`; never `api`, `daemon` or `cli`."""
