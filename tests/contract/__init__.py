"""Contract tests: the same assertions against every adapter of a port."""
