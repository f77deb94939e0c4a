"""Docker Registry HTTP API v2 with GitLab's token flow (/jwt/auth)."""
