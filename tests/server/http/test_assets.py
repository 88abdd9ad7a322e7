"""The web client's files (server/http/assets.py): files named by their hash cached for
a year, the page and any other file revalidated, text gzip-compressed for browsers that
take it, with ETags that tell the two encodings apart and 304 answers to revalidations."""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.routing import Mount

from server.http.assets import IMMUTABLE, MIN_COMPRESS_BYTES, Assets, accepts_gzip
from tests.support.harness import RunningServer

STATIC = Path(__file__).resolve().parents[3] / "static"
DIST = STATIC / "dist"
SCRIPT = "export const words = [" + ", ".join(f"'word {n}'" for n in range(400)) + "]\n"
GZIP = {"accept-encoding": "gzip, deflate, br"}
PLAIN = {"accept-encoding": "identity"}


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[tuple[Path, httpx.AsyncClient]]:
    """A served directory shaped like static/dist, and a client for it."""
    (tmp_path / "chunks").mkdir()
    (tmp_path / "app.js").write_text(SCRIPT)
    (tmp_path / "chunks" / "room-page-ABCD2345.js").write_text(SCRIPT)
    (tmp_path / "style-WXYZ7777.css").write_text("p { color: red }\n" * 100)
    (tmp_path / "tiny.js").write_text("export {}\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG" + bytes(4000))
    app = Starlette(routes=[Mount("/static/dist", Assets(tmp_path))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield tmp_path, client


async def raw_get(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (not decompressed)."""
    async with client.stream("GET", path, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


@pytest.mark.parametrize(
    ("header", "takes"),
    [
        ("gzip, deflate, br", True),
        ("GZIP", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("identity", False),
        ("br", False),
        ("", False),
    ],
)
def test_accept_encoding_decides_gzip(header: str, takes: bool) -> None:
    assert accepts_gzip(Headers({"accept-encoding": header})) is takes


async def test_chunks_are_kept_for_a_year_and_entries_revalidated(
    files: tuple[Path, httpx.AsyncClient],
) -> None:
    _, client = files
    assert IMMUTABLE == "public, max-age=31536000, immutable"
    for path in ("/static/dist/chunks/room-page-ABCD2345.js", "/static/dist/style-WXYZ7777.css"):
        for headers in (GZIP, PLAIN):
            response = await client.get(path, headers=headers)
            assert response.headers["cache-control"] == IMMUTABLE, path
    for path in ("/static/dist/app.js", "/static/dist/tiny.js", "/static/dist/logo.png"):
        for headers in (GZIP, PLAIN):
            response = await client.get(path, headers=headers)
            assert response.status_code == 200
            assert response.headers["cache-control"] == "no-cache", path


async def test_text_goes_gzip_compressed_to_browsers_that_take_it(
    files: tuple[Path, httpx.AsyncClient],
) -> None:
    directory, client = files
    plain = SCRIPT.encode()
    response, body = await raw_get(client, "/static/dist/chunks/room-page-ABCD2345.js", GZIP)
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "accept-encoding"
    assert response.headers["content-type"].startswith("text/javascript")
    assert int(response.headers["content-length"]) == len(body) < len(plain) / 3
    assert gzip.decompress(body) == plain

    response, body = await raw_get(client, "/static/dist/chunks/room-page-ABCD2345.js", PLAIN)
    assert "content-encoding" not in response.headers
    assert response.headers["vary"] == "accept-encoding"
    assert body == plain

    # Too small to gain, or not text: as they are.
    for path in ("/static/dist/tiny.js", "/static/dist/logo.png"):
        response, body = await raw_get(client, path, GZIP)
        assert "content-encoding" not in response.headers, path
        assert body == (directory / path.removeprefix("/static/dist/")).read_bytes()


async def test_each_encoding_has_its_etag_and_revalidations_get_304(
    files: tuple[Path, httpx.AsyncClient],
) -> None:
    _, client = files
    path = "/static/dist/app.js"
    zipped = await client.get(path, headers=GZIP)
    plain = await client.get(path, headers=PLAIN)
    assert zipped.headers["etag"] == plain.headers["etag"].removesuffix('"') + '-gzip"'

    for headers, etag in ((GZIP, zipped.headers["etag"]), (PLAIN, plain.headers["etag"])):
        again = await client.get(path, headers={**headers, "if-none-match": etag})
        assert again.status_code == 304, headers
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "no-cache"
        assert again.headers["vary"] == "accept-encoding"

    # A plain copy the browser holds is still good when it now takes gzip; a compressed
    # copy is not what a browser taking only plain bytes can use.
    kept = await client.get(path, headers={**GZIP, "if-none-match": plain.headers["etag"]})
    assert kept.status_code == 304
    assert kept.headers["etag"] == plain.headers["etag"]
    crossed = await client.get(path, headers={**PLAIN, "if-none-match": zipped.headers["etag"]})
    assert crossed.status_code == 200
    assert "content-encoding" not in crossed.headers
    assert crossed.text == SCRIPT


async def test_a_file_changed_on_disk_is_compressed_again(
    files: tuple[Path, httpx.AsyncClient],
) -> None:
    directory, client = files
    first = await client.get("/static/dist/app.js", headers=GZIP)
    changed = SCRIPT.replace("word", "term")
    (directory / "app.js").write_text(changed)
    stat = (directory / "app.js").stat()
    os.utime(directory / "app.js", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = await client.get(
        "/static/dist/app.js", headers={**GZIP, "if-none-match": first.headers["etag"]}
    )
    assert second.status_code == 200
    assert second.headers["content-encoding"] == "gzip"
    assert second.text == changed
    assert second.headers["etag"] != first.headers["etag"]


async def test_the_server_serves_the_built_client_so(server: RunningServer) -> None:
    built = sorted(path for path in DIST.rglob("*") if path.is_file())
    named = re.findall(r'"/static/dist/([^"]+)"', (STATIC / "app.html").read_text())
    assert any(name.endswith(".js") for name in named)
    assert any(name.endswith(".css") for name in named)
    async with httpx.AsyncClient(base_url=server.http) as client:
        page = await client.get("/join/some-code")
        assert page.headers["cache-control"] == "no-cache"
        assert page.text == (STATIC / "app.html").read_text()
        for path in built:
            name = path.relative_to(DIST).as_posix()
            response = await client.get(f"/static/dist/{name}", headers=GZIP)
            assert response.status_code == 200, name
            assert response.headers["cache-control"] == IMMUTABLE, name
            if path.stat().st_size >= MIN_COMPRESS_BYTES:
                assert response.headers["content-encoding"] == "gzip", name
            assert response.content == path.read_bytes()
        # Nothing outside dist: not the sources, not the build script.
        for outside in ("/static/dist/../src/main.js", "/static/build.mjs", "/static/src/main.js"):
            assert (await client.get(outside)).status_code == 404, outside
