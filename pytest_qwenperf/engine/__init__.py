"""The load engine: transport, schedulers and the runner. Knows sockets, not DashScope."""
