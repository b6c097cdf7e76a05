"""API keys, scopes, dashboard sessions and failed-auth throttling."""
