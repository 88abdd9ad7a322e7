"""What a server process loads at start: the packages only some deployments use are
loaded only by them (each costs a process several MB; docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.cluster import ROOT

OPTIONAL = (
    "alembic",  # only when the database is behind the migrations
    "redis",  # only with ROUNDTABLE_REDIS_URL
    "prometheus_client",  # only with ROUNDTABLE_METRICS_TOKEN
    "asyncpg",  # only for PostgreSQL
    "aiosmtplib",  # with the first email
    "email_validator",  # with the first address checked
    "yaml",  # with the first request for the OpenAPI document
)

PROBE = """
import asyncio, json, sys
import server.cli
from server.app import create_app
from server.config import Settings

async def main():
    app = create_app(Settings(database_url=sys.argv[1], secret_key="k" * 40))
    async with app.router.lifespan_context(app):
        loaded = sorted({m.split(".")[0] for m in sys.modules})
    print(json.dumps(loaded))

asyncio.run(main())
"""


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_server_on_sqlite_at_head_loads_none_of_the_optional_packages(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}"
    migrated = _python("-m", "server.cli", "migrate", "--database-url", url)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    # A start on a database at head, as every start but the first; `roundtable serve`
    # runs in the process that imported the command line.
    done = _python("-c", PROBE, url)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert loaded & set(OPTIONAL) == set(), sorted(loaded & set(OPTIONAL))
    assert {"sqlalchemy", "pycrdt", "starlette"} <= loaded
