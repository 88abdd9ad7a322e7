"""The committed bundle (static/dist) is what the sources (static/src) build to: the
same files, none left over from an earlier build; app.html names its entry script and
stylesheet and preloads the chunks the entry imports; and what the join page loads
(the entry and those chunks) holds none of the editor, which is in a chunk the entry
imports on demand."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.services import service_missing

pytestmark = pytest.mark.node

STATIC = Path(__file__).resolve().parents[2] / "static"
# A static import in esbuild's output (`import{a as b}from"./x.js"`, `import"./x.js"`);
# a dynamic one, `import("./x.js")`, has a parenthesis before its quote.
STATIC_IMPORT = re.compile(r'(?:\bfrom|\bimport)\s*"\./([^"]+)"')
PRELOAD = re.compile(r'<link rel="modulepreload" href="/static/dist/([^"]+)">')
SCRIPT = re.compile(r'<script type="module" src="/static/dist/([^"]+)"></script>')
STYLESHEET = re.compile(r'<link rel="stylesheet" href="/static/dist/([^"]+)">')
DYNAMIC_IMPORT = re.compile(r'\bimport\("\./([^"]+)"\)')
# Strings found only in the editor's libraries (ProseMirror, TipTap, Yjs).
EDITOR_MARKS = ("ProseMirror", "tiptap", "Yjs was already imported")


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def page_files() -> tuple[str, str, list[str]]:
    """What app.html names in dist: the entry script, the stylesheet, the preloads."""
    page = (STATIC / "app.html").read_text()
    script, style = SCRIPT.search(page), STYLESHEET.search(page)
    assert script and style, "static/app.html names no bundle script or stylesheet"
    return script.group(1), style.group(1), PRELOAD.findall(page)


def join_page_scripts(dist: Path, entry: str) -> list[str]:
    """The entry and the chunks it imports statically (not those it imports on demand)."""
    return [entry, *STATIC_IMPORT.findall((dist / entry).read_text())]


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

    fresh = files_of(tmp_path)
    committed = files_of(STATIC / "dist")
    stale = sorted(
        name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name)
    )
    assert not stale, (
        f"static/dist/{', '.join(stale)} differ from a fresh build of static/src: "
        "run `cd static && node build.mjs` (or `make web`) and commit static/dist and "
        "static/app.html"
    )

    # The page names this build's files, and preloads the chunks its entry needs.
    script, style, preloaded = page_files()
    assert script in fresh, f"static/app.html names {script}: run `cd static && node build.mjs`"
    assert style in fresh, f"static/app.html names {style}: run `cd static && node build.mjs`"
    imported = join_page_scripts(tmp_path, script)[1:]
    assert imported, f"{script} imports no chunk: is the bundle still split (build.mjs)?"
    assert sorted(preloaded) == sorted(imported), (
        f"static/app.html's modulepreload links are not the chunks {script} imports: "
        "run `cd static && node build.mjs`"
    )


def test_the_join_page_loads_none_of_the_editor() -> None:
    dist = STATIC / "dist"
    scripts = join_page_scripts(dist, page_files()[0])
    for name in scripts:
        text = (dist / name).read_text()
        found = [mark for mark in EDITOR_MARKS if mark in text]
        assert not found, f"{name}, which the join page loads, holds the editor: {found}"
    # ... and the editor is in a chunk the entry imports on demand.
    on_demand = DYNAMIC_IMPORT.findall((dist / scripts[0]).read_text())
    assert any(
        all(mark in (dist / name).read_text() for mark in EDITOR_MARKS) for name in on_demand
    )
