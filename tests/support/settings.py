"""Server settings for tests."""

from __future__ import annotations

import uuid
from typing import Any

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


def cluster_settings(
    postgres_url: str, redis_url: str, prefix: str | None = None, **overrides: Any
) -> Settings:
    """Settings for processes sharing one database and one Redis (on a channel prefix
    of this test alone unless ``prefix`` is given), with one signing key: a token
    issued by one works on all."""
    return fast_settings(
        postgres_url,
        redis_url=redis_url,
        redis_prefix=prefix or "rt-test-" + uuid.uuid4().hex,
        secret_key=CLUSTER_SECRET,
        **overrides,
    )


CLUSTER_SECRET = "cluster-test-secret-key-0123456789abcdef0123456789"
