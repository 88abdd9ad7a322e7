"""A smoke run of the page-speed measurement (bench/page_speed.py), one run without
throttling: it still finds the join page's name field and the room's editor, types into
it, and counts the JavaScript each page fetched, so `make page-speed` keeps working as
the web client changes."""

from __future__ import annotations

import json

import pytest

from bench.page_speed import CHROMIUM, PAGES, measure, table
from tests.support.services import service_missing

pytestmark = pytest.mark.browser

UNTHROTTLED = {
    "viewport": "390x844, touch, device scale 3",
    "cpu_slowdown": 1,
    "latency_ms": 0,
    "download_kbps": 0,
    "upload_kbps": 0,
}


def test_one_run_measures_every_page() -> None:
    if not CHROMIUM.is_file():
        service_missing(
            f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
        )
    result = measure(1, UNTHROTTLED, quiet=True)
    [run] = result["runs"]
    for page in PAGES:
        assert 0 < run[page]["ready_ms"] < 60_000, page
    for page in ("join", "room_cold"):
        assert run[page]["fcp_ms"] is not None, page
        assert run[page]["js_files"] >= 1, page
        assert run[page]["js_gzip"] < run[page]["js_decoded"], page
    for page in ("room_after_join", "room_cold"):
        assert run[page]["input_ms"] >= 0
    joined = run["room_after_join"]
    assert 0 < joined["ready_ms"] < joined["from_link_ms"]

    # The join page fetched no editor; the room page, cold, fetched it over the network.
    def room_chunks(page: str) -> list[dict[str, int]]:
        return [f for f in run[page]["scripts"] if "/chunks/room-page-" in f["url"]]

    assert room_chunks("join") == []
    [chunk] = room_chunks("room_cold")
    assert chunk["transferred"] > 0

    shown = table(result, before=result)
    assert "| page | metric | before | after |" in shown
    assert "invite link opened to editor usable" in shown
    json.dumps(result)
