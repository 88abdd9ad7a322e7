"""Server settings for tests."""

from __future__ import annotations

from server.config import Settings


def fast_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for tests: short write-behind window, fixed secret."""
    values: dict[str, object] = {
        "database_url": database_url,
        "flush_interval": 0.05,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
