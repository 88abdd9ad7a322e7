"""The web client's built files (static/dist), as cheap to fetch as their names allow.

static/build.mjs names every file it writes by the hash of its content
(``app-<hash>.js``, ``chunks/room-page-<hash>.js``): a new build gives new names, which
app.html (revalidated on every load) points to, so browsers may keep these files for a
year without asking again. A file without such a name is revalidated on every use
(``no-cache`` with an ETag, answered 304 when unchanged).

Text files are sent gzip-compressed to browsers that accept it, which cuts the editor's
JavaScript to about a third. Each file is compressed once, in a worker thread, and kept
in memory until it changes on disk; its ETag gets a ``-gzip`` suffix, since the bytes
differ from the plain file's.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# esbuild's [hash]: eight characters of base32, before the extension.
HASHED_NAME = re.compile(r"-[A-Z2-7]{8}\.[a-z]+$")
COMPRESSIBLE = frozenset({".js", ".css", ".json", ".svg", ".txt", ".html", ".map"})
# Smaller files gain too little to be worth a compressed copy.
MIN_COMPRESS_BYTES = 1024
# Level 9 makes the editor chunk 0.2% smaller than 6, for three times the work.
GZIP_LEVEL = 6


def cache_control(path: str) -> str:
    """The Cache-Control of the file at ``path`` (relative to the served directory)."""
    return IMMUTABLE if HASHED_NAME.search(Path(path).name) else REVALIDATE


def accepts_gzip(headers: Headers) -> bool:
    """Whether the request's Accept-Encoding takes gzip (explicitly or through ``*``)."""
    for part in headers.get("accept-encoding", "").split(","):
        coding, _, parameters = part.partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        quality = parameters.strip().lower().removeprefix("q=").strip()
        try:
            return not quality or float(quality) > 0
        except ValueError:
            return False
    return False


class Assets(StaticFiles):
    """StaticFiles with caching headers and gzip-compressed text files."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory)
        # Full path -> (modification time, size, gzip-compressed bytes).
        self._compressed: dict[str, tuple[int, int, bytes]] = {}

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["cache-control"] = cache_control(path)
        if Path(path).suffix not in COMPRESSIBLE:
            return response
        response.headers["vary"] = "accept-encoding"
        request = Headers(scope=scope)
        if (
            not isinstance(response, FileResponse)
            or scope["method"] != "GET"
            or response.stat_result is None
            or response.stat_result.st_size < MIN_COMPRESS_BYTES
            or not accepts_gzip(request)
        ):
            return response
        body = await self._gzipped(str(response.path), response.stat_result)
        headers = {
            name: response.headers[name]
            for name in ("cache-control", "vary", "last-modified", "content-type")
        }
        headers["etag"] = response.headers["etag"].removesuffix('"') + '-gzip"'
        headers["content-encoding"] = "gzip"
        if self.is_not_modified(Headers(headers), request):
            del headers["content-encoding"], headers["content-type"]
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers)

    async def _gzipped(self, full_path: str, stat: os.stat_result) -> bytes:
        known = self._compressed.get(full_path)
        if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        body = await anyio.to_thread.run_sync(_compress, full_path)
        self._compressed[full_path] = (stat.st_mtime_ns, stat.st_size, body)
        return body


def _compress(full_path: str) -> bytes:
    with open(full_path, "rb") as file:
        return gzip.compress(file.read(), GZIP_LEVEL, mtime=0)
