"""Library operations the CLI calls: each takes a Session and returns typed results."""
