"""The committed bundle (static/dist) is what the sources (static/src) build to."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.services import service_missing

pytestmark = pytest.mark.node

STATIC = Path(__file__).resolve().parents[2] / "static"
BUNDLE = ["app.js", "style.css"]


def test_committed_bundle_is_fresh(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        service_missing("node is not on PATH: the web bundle cannot be rebuilt")
    if not (STATIC / "node_modules" / "esbuild").is_dir():
        service_missing("static/node_modules is missing (cd static && npm ci)")
    assert node is not None

    built = subprocess.run(
        [node, "build.mjs", "--outdir", str(tmp_path)],
        cwd=STATIC,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert built.returncode == 0, f"node build.mjs failed:\n{built.stdout}\n{built.stderr}"

    stale = [
        name
        for name in BUNDLE
        if (tmp_path / name).read_bytes() != (STATIC / "dist" / name).read_bytes()
    ]
    assert not stale, (
        f"static/dist/{' and '.join(stale)} differ from a fresh build of static/src: "
        "run `cd static && node build.mjs` (or `make web`) and commit static/dist"
    )
