"""The security headers docs/reliability.md promises on every HTTP response: a
Content-Security-Policy (``default-src 'self'``, no inline script, ``frame-ancestors
'none'``), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
``X-Frame-Options: DENY`` and ``Cross-Origin-Opener-Policy`` (``same-origin``), each
once, on the web pages and the bundle, on every kind of API answer (success, refusal,
not found, wrong method, 429 with ``Retry-After``, 503 while storage is unavailable) and
on exports.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from rooms.roles import Role
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings

EXACT = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
# The directives docs/reliability.md names, with the only values that keep its promise.
CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in directives, f"directive {name} given twice in {policy!r}"
        directives[name] = values
    return directives


def header_problems(label: str, response: httpx.Response) -> list[str]:
    """What is missing or wrong in the security headers of ``response``."""
    problems: list[str] = []
    for name in [*EXACT, "content-security-policy"]:
        values = response.headers.get_list(name)
        if len(values) != 1:
            problems.append(f"{label}: {name} given {len(values)} times: {values}")
    for name, value in EXACT.items():
        if response.headers.get(name) != value:
            problems.append(f"{label}: {name} is {response.headers.get(name)!r}, not {value!r}")
    directives = csp_directives(response.headers.get("content-security-policy", ""))
    for directive, sources in CSP_DIRECTIVES.items():
        if directives.get(directive) != sources:
            problems.append(
                f"{label}: CSP {directive} is {directives.get(directive)}, not {sources}"
            )
    unsafe = [v for values in directives.values() for v in values if v.startswith("'unsafe-")]
    if unsafe:
        problems.append(f"{label}: CSP allows {unsafe}")
    return problems


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def test_every_page_and_api_answer_carries_the_security_headers(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    room = await server.create_room()
    slug = room.room.slug
    joined = await api.post(
        "/api/join", json={"invite": room.invites[Role.FACILITATOR], "name": "Fay"}
    )
    facilitator = {"authorization": f"Bearer {joined.json()['token']}"}
    member = await server.join(room, Role.MEMBER, "Ann")
    member_id = server.app_state.signer.verify(member).participant_id
    answers: dict[str, tuple[int, httpx.Response]] = {"join": (200, joined)}

    async def answer(label: str, status: int, method: str, path: str, **options: Any) -> None:
        answers[label] = (status, await api.request(method, path, **options))

    await answer("home page", 200, "GET", "/")
    await answer("join page", 200, "GET", f"/join/{room.invites[Role.MEMBER]}")
    await answer("room page", 200, "GET", f"/room/{slug}")
    # The bundle's files are named by their hash: the ones the page names.
    page = answers["home page"][1].text
    for kind, extension in (("script", "js"), ("styles", "css")):
        found = re.search(rf'"(/static/dist/[^"]+\.{extension})"', page)
        assert found, f"app.html names no bundle {kind}"
        await answer(f"bundle {kind}", 200, "GET", found.group(1))
    await answer("health", 200, "GET", "/health")
    await answer("ready", 200, "GET", "/ready")
    await answer("vocabulary", 200, "GET", "/api/vocabulary")
    await answer("templates", 200, "GET", "/api/templates")
    await answer("openapi", 200, "GET", "/api/openapi.json")
    await answer("unknown invite", 404, "POST", "/api/join", json={"invite": "nope", "name": "A"})
    await answer(
        "bad json",
        400,
        "POST",
        "/api/join",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    await answer("room without token", 401, "GET", f"/api/rooms/{slug}")
    await answer("room", 200, "GET", f"/api/rooms/{slug}", headers=facilitator)
    await answer(
        "new document",
        201,
        "POST",
        f"/api/rooms/{slug}/documents",
        json={"name": "guide"},
        headers=facilitator,
    )
    for kind in ("markdown", "html"):
        await answer(
            f"{kind} export",
            200,
            "GET",
            f"/api/rooms/{slug}/documents/guide/export?format={kind}",
            headers=facilitator,
        )
    await answer(
        "lock",
        200,
        "PUT",
        f"/api/rooms/{slug}/documents/guide/lock",
        json={"locked": True},
        headers=facilitator,
    )
    await answer(
        "removal (no body)",
        204,
        "DELETE",
        f"/api/rooms/{slug}/participants/{member_id}",
        headers=facilitator,
    )
    await answer("invites without a token", 401, "GET", f"/api/rooms/{slug}/invites")
    await answer("unknown path", 404, "GET", "/no/such/page")
    await answer("wrong method", 405, "DELETE", "/health")

    problems: list[str] = []
    for label, (status, response) in answers.items():
        assert response.status_code == status, f"{label}: {response.status_code} {response.text}"
        problems += header_problems(label, response)
    assert not problems, "\n".join(problems)
    assert answers["html export"][1].headers["content-type"].startswith("text/html")


async def test_a_join_refused_for_its_rate_carries_the_security_headers(tmp_path: Path) -> None:
    settings = fast_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}", max_joins_per_invite_per_minute=1
    )
    async with run_server(settings) as server, httpx.AsyncClient(base_url=server.http) as api:
        room = await server.create_room()
        body = {"invite": room.invites[Role.MEMBER], "name": "Ann"}
        assert (await api.post("/api/join", json=body)).status_code == 200
        refused = await api.post("/api/join", json=body)
    assert refused.status_code == 429
    assert refused.headers["retry-after"]
    assert header_problems("429", refused) == []


async def test_storage_unavailable_carries_the_security_headers(
    server: RunningServer, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(participant_id: str) -> bool:
        raise OperationalError("SELECT", {}, ConnectionRefusedError("database is down"))

    room = await server.create_room()
    token = await server.join(room, Role.MEMBER)
    monkeypatch.setattr(server.app_state.participants, "standing", unavailable)
    response = await api.get(
        f"/api/rooms/{room.room.slug}", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert header_problems("503", response) == []


async def test_an_unexpected_failure_answers_500_with_the_security_headers_and_request_id(
    server: RunningServer, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(participant_id: str) -> bool:
        raise RuntimeError("a bug")

    room = await server.create_room()
    token = await server.join(room, Role.MEMBER)
    monkeypatch.setattr(server.app_state.participants, "standing", broken)
    response = await api.get(
        f"/api/rooms/{room.room.slug}",
        headers={"authorization": f"Bearer {token}", "x-request-id": "report-this-id"},
    )
    assert response.status_code == 500
    # The id someone reporting the failure quotes, to find its log lines.
    assert response.headers["x-request-id"] == "report-this-id"
    assert response.json() == {
        "error": {"code": "internal_error", "message": "the server failed to answer this request"}
    }
    assert "a bug" not in response.text
    assert header_problems("500", response) == []
