"""The edge: HTTP and WebSocket routes, token auth, configuration, storage, the CLI."""
