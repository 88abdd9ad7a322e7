"""The HTTP API: joining, rooms, documents, and clear JSON errors for bad requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from rooms.roles import INVITE_ROLES, Role
from server.http.common import MAX_BODY_BYTES
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.yclient import open_synced


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


def _error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_health(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_join_returns_a_token_for_the_invite_role(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    room = await server.create_room()
    for role in INVITE_ROLES:
        response = await api.post("/api/join", json={"invite": room.invites[role], "name": " Ann "})
        assert response.status_code == 200
        body = response.json()
        assert body["room"] == room.room.slug
        assert body["role"] == role.value
        assert body["participant"]["name"] == "Ann"
        claims = server.app_state.signer.verify(body["token"])
        assert claims.role is role and claims.room == room.room.slug


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"invite": "no-such-invite", "name": "Ann"}, 404, "unknown_invite"),
        ({"invite": "", "name": "Ann"}, 422, "invalid_invite"),
        ({"name": "Ann"}, 422, "invalid_invite"),
        ({"invite": "INVITE"}, 422, "invalid_name"),
        ({"invite": "INVITE", "name": "   "}, 422, "invalid_name"),
        ({"invite": "INVITE", "name": "x" * 65}, 422, "invalid_name"),
        ({"invite": "INVITE", "name": "bell\x07"}, 422, "invalid_name"),
        ({"invite": "INVITE", "name": 42}, 422, "invalid_name"),
        ([1, 2], 400, "invalid_json"),
    ],
)
async def test_join_refusals(
    server: RunningServer, api: httpx.AsyncClient, body: object, status: int, code: str
) -> None:
    room = await server.create_room()
    if isinstance(body, dict) and body.get("invite") == "INVITE":
        body = {**body, "invite": room.invites[Role.MEMBER]}
    response = await api.post("/api/join", json=body)
    assert response.status_code == status
    assert _error_code(response) == code
    assert response.json()["error"]["message"]


async def test_join_refuses_bad_bodies(api: httpx.AsyncClient) -> None:
    not_json = await api.post(
        "/api/join", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert (not_json.status_code, _error_code(not_json)) == (400, "invalid_json")
    form = await api.post("/api/join", data={"invite": "x", "name": "y"})
    assert (form.status_code, _error_code(form)) == (415, "unsupported_media_type")
    huge = await api.post(
        "/api/join",
        content=b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}',
        headers={"content-type": "application/json"},
    )
    assert (huge.status_code, _error_code(huge)) == (413, "body_too_large")


async def test_markup_in_names_is_kept_as_text(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    room = await server.create_room()
    name = "<script>alert(1)</script>"
    response = await api.post("/api/join", json={"invite": room.invites[Role.MEMBER], "name": name})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["participant"]["name"] == name


async def test_room_detail_lists_documents(server: RunningServer, api: httpx.AsyncClient) -> None:
    room = await server.create_room()
    token = await server.join(room, Role.MEMBER)
    editor = await open_synced(server.sync_url(room.room.slug) + "/style-guide", token)
    await editor.close()
    auth = {"authorization": f"Bearer {token}"}
    detail = await api.get(f"/api/rooms/{room.room.slug}", headers=auth)
    assert detail.status_code == 200
    assert detail.json()["title"] == room.room.title
    assert detail.json()["you"]["role"] == "member"
    assert [d["name"] for d in detail.json()["documents"]] == ["style-guide"]
    documents = await api.get(f"/api/rooms/{room.room.slug}/documents", headers=auth)
    assert [d["name"] for d in documents.json()["documents"]] == ["style-guide"]


async def test_ambient_credentials_alone_drive_nothing(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    """A cross-site page can make the browser send cookies and reuse a URL, never an
    Authorization header: a valid token anywhere but that header is refused."""
    room = await server.create_room()
    token = await server.join(room, Role.FACILITATOR)
    path = f"/api/rooms/{room.room.slug}"
    lock = f"{path}/documents/guide/lock"
    attempts: list[tuple[dict[str, str], dict[str, str]]] = [
        ({"token": token}, {}),
        ({"roundtable_token": token, "authorization": f"Bearer {token}"}, {}),
        ({}, {"token": token}),
    ]
    for cookies, params in attempts:
        api.cookies.clear()
        api.cookies.update(cookies)
        read = await api.get(path, params=params)
        assert (read.status_code, _error_code(read)) == (401, "unauthorized")
        write = await api.put(lock, json={"locked": True}, params=params)
        assert (write.status_code, _error_code(write)) == (401, "unauthorized")
    api.cookies.clear()
    assert (await api.get(path, headers={"authorization": f"Bearer {token}"})).status_code == 200


async def test_room_endpoints_need_a_token_for_that_room(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    room = await server.create_room()
    other = await server.create_room("Other")
    path = f"/api/rooms/{room.room.slug}"
    missing = await api.get(path)
    assert (missing.status_code, _error_code(missing)) == (401, "unauthorized")
    forged = await api.get(path, headers={"authorization": "Bearer abc.def.ghi"})
    assert (forged.status_code, _error_code(forged)) == (401, "unauthorized")
    foreign = await api.get(
        path, headers={"authorization": f"Bearer {await server.join(other, Role.FACILITATOR)}"}
    )
    assert (foreign.status_code, _error_code(foreign)) == (403, "forbidden")


async def test_only_facilitators_see_invites(server: RunningServer, api: httpx.AsyncClient) -> None:
    room = await server.create_room()
    path = f"/api/rooms/{room.room.slug}/invites"
    member = await api.get(
        path, headers={"authorization": f"Bearer {await server.join(room, Role.MEMBER)}"}
    )
    assert member.status_code == 403
    facilitator = await api.get(
        path, headers={"authorization": f"Bearer {await server.join(room, Role.FACILITATOR)}"}
    )
    assert facilitator.status_code == 200
    assert facilitator.json()["invites"] == {r.value: c for r, c in room.invites.items()}


async def test_room_creation_over_http(tmp_path: Path) -> None:
    settings = fast_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}", admin_token="admin-secret"
    )
    async with run_server(settings) as running, httpx.AsyncClient(base_url=running.http) as api:
        wrong = await api.post(
            "/api/rooms", json={"title": "X"}, headers={"authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        created = await api.post(
            "/api/rooms",
            json={"title": "Action plans"},
            headers={"authorization": "Bearer admin-secret"},
        )
        assert created.status_code == 201
        assert set(created.json()["invites"]) == {"facilitator", "member", "observer"}
        joined = await api.post(
            "/api/join", json={"invite": created.json()["invites"]["observer"], "name": "O"}
        )
        assert joined.json()["room"] == created.json()["room"]


async def test_room_creation_with_a_token_is_off_without_admin_token(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/api/rooms", json={"title": "X"}, headers={"authorization": "Bearer anything"}
    )
    assert (response.status_code, _error_code(response)) == (403, "disabled")
    # Without a token, creation is for signed-in people (tests/server/http/test_accounts.py).
    origin = str(api.base_url).rstrip("/")
    signed_out = await api.post("/api/rooms", json={"title": "X"}, headers={"origin": origin})
    assert (signed_out.status_code, _error_code(signed_out)) == (401, "signed_out")


async def test_unknown_paths_and_methods_answer_json(api: httpx.AsyncClient) -> None:
    missing = await api.get("/api/nothing-here")
    assert missing.status_code == 404 and _error_code(missing) == "http_404"
    wrong_method = await api.get("/api/join")
    assert wrong_method.status_code == 405 and _error_code(wrong_method) == "http_405"
