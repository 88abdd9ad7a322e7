"""The deployment guide's files agree with the guide and with the server they deploy.

The guide shows the proxy configurations and the unit as they are in ``docs/deploy/``;
``docs/deploy/roundtable.env`` names every setting an operator sets, with the defaults
the server has; the systemd units give a stopping instance time to drain, close its
sockets and store its edits; Caddy (where installed: Debian packages it, `make test`
does not install it) accepts the Caddyfile. The nginx configuration is checked and run
by ``test_rolling_restart.py``.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import fields
from pathlib import Path

import pytest

from server.cli import uvicorn_options
from server.config import Settings
from tests.deploy.proxy import run
from tests.support.cluster import ROOT
from tests.support.services import service_missing

GUIDE = ROOT / "docs" / "deployment.md"
DEPLOY = ROOT / "docs" / "deploy"
ENV_FILE = DEPLOY / "roundtable.env"
UNITS = [DEPLOY / "roundtable.service", DEPLOY / "roundtable@.service"]
# Settings a PostgreSQL deployment has no use for.
NOT_FOR_DEPLOYMENTS = {"database_busy_timeout"}
SETTING = re.compile(r"^(#?)(ROUNDTABLE_[A-Z0-9_]+)=(.*)$")


def env_lines() -> list[tuple[bool, str, str]]:
    """(commented out, name, value) of every ROUNDTABLE_* line of the env file."""
    found = []
    for line in ENV_FILE.read_text().splitlines():
        match = SETTING.match(line)
        if match:
            found.append((match[1] == "#", match[2], match[3]))
    return found


def unit_setting(unit: Path, name: str) -> str:
    values = re.findall(rf"^{name}=(.*)$", unit.read_text(), flags=re.MULTILINE)
    assert len(values) == 1, f"{unit.name} sets {name} {len(values)} times"
    return str(values[0])


@pytest.mark.parametrize("name", ["nginx.conf", "Caddyfile", "roundtable.service"])
def test_the_guide_shows_the_file_as_it_is(name: str) -> None:
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```$", GUIDE.read_text(), re.MULTILINE | re.DOTALL)
    assert (DEPLOY / name).read_text() in blocks


def test_the_env_file_names_every_setting_once_and_nothing_else() -> None:
    names = [name for _, name, _ in env_lines()]
    assert len(names) == len(set(names)), "a setting is named twice"
    wanted = {
        "ROUNDTABLE_" + f.name.upper()
        for f in fields(Settings)
        if f.name not in NOT_FOR_DEPLOYMENTS
    }
    assert set(names) == wanted


def test_the_env_file_shows_the_servers_defaults_and_values_it_can_read() -> None:
    defaults = Settings()
    for commented, name, value in env_lines():
        field = name.removeprefix("ROUNDTABLE_").lower()
        read = getattr(Settings.from_env({name: value}), field)
        if commented and value:
            assert read == getattr(defaults, field), f"{name}: the server's default differs"


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_a_stopping_instance_has_time_to_drain_close_and_store(unit: Path) -> None:
    settings = Settings()
    needed = (
        settings.drain_seconds
        + settings.close_spread_seconds
        + uvicorn_options(settings)["timeout_graceful_shutdown"]
        # The last flush, retried once after a failure.
        + 2 * settings.max_flush_retry_delay
    )
    assert float(unit_setting(unit, "TimeoutStopSec")) > needed
    assert unit_setting(unit, "KillSignal") == "SIGTERM"
    # Only the main process gets SIGTERM and forwards it (a second one cuts the drain).
    assert unit_setting(unit, "KillMode") == "mixed"
    assert unit_setting(unit, "EnvironmentFile") == "/etc/roundtable/roundtable.env"
    assert int(unit_setting(unit, "LimitNOFILE")) >= 65536


@pytest.fixture
def caddy() -> str:
    found = shutil.which("caddy")
    if found is None:
        service_missing("caddy is not installed (make test installs Debian's caddy)")
        pytest.skip("caddy is not installed: the Caddyfile is not checked")
    return found


async def test_caddy_accepts_the_caddyfile_as_it_is_formatted(
    caddy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caddyfile = DEPLOY / "Caddyfile"
    # Caddy keeps its state under these: nothing of the machine's own.
    for variable in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(variable, str(tmp_path))
    code, output = await run(caddy, "validate", "--config", caddyfile, "--adapter", "caddyfile")
    assert code == 0, output
    assert "Valid configuration" in output
    code, formatted = await run(caddy, "fmt", caddyfile)
    assert code == 0, formatted
    assert formatted == caddyfile.read_text()
