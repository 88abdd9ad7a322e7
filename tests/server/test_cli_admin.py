"""``roundtable admin ...`` as an operator runs it, as a process of its own, against the
database a running server uses: the first administrator, the room creation policy and
its list, and a person's data on request (export, deletion)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.server.test_cli import _run
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.smtp import SmtpServer, code_in


@pytest.fixture
async def site(database_url: str, smtp_server: SmtpServer) -> AsyncIterator[RunningServer]:
    async with run_server(fast_settings(database_url, smtp_url=smtp_server.url)) as running:
        yield running


async def admin(site: RunningServer, *args: str) -> tuple[int, str, str]:
    return await _run("admin", "--database-url", site.settings.database_url, *args)


async def signed_in(site: RunningServer, mail: SmtpServer, email: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=site.http, headers={"origin": site.http})
    assert (await http.post("/api/sign-in", json={"email": email})).status_code == 202
    code = code_in(await mail.next_message())
    answer = await http.post("/api/sign-in/code", json={"email": email, "code": code})
    assert answer.status_code == 200, answer.text
    return http


async def test_room_creation_follows_the_admin_commands(
    site: RunningServer, smtp_server: SmtpServer
) -> None:
    ana = await signed_in(site, smtp_server, "ana@example.com")
    bo = await signed_in(site, smtp_server, "bo@school.example")
    try:
        # The default: only those listed, and nobody is.
        assert (await ana.post("/api/rooms", json={"title": "A"})).status_code == 403
        code, out, _ = await admin(site, "list")
        assert code == 0
        assert "Room creation: listed" in out
        assert "Administrators: none yet" in out

        code, out, _ = await admin(site, "add", "Ana@Example.com")
        assert code == 0, out
        assert "ana@example.com is an administrator" in out
        assert (await ana.post("/api/rooms", json={"title": "A"})).status_code == 201
        assert (await ana.get("/api/account")).json()["account"]["admin"] is True

        assert (await bo.post("/api/rooms", json={"title": "B"})).status_code == 403
        code, out, _ = await admin(site, "allow", "@School.example")
        assert (code, out.strip()) == (
            0,
            "@school.example may create rooms (while the policy is 'listed')",
        )
        assert (await bo.post("/api/rooms", json={"title": "B"})).status_code == 201
        code, _, _ = await admin(site, "disallow", "@school.example")
        assert code == 0
        assert (await bo.post("/api/rooms", json={"title": "B2"})).status_code == 403
        code, _, err = await admin(site, "disallow", "@school.example")
        assert code == 2
        assert "is not listed" in err

        code, _, _ = await admin(site, "policy", "anyone")
        assert code == 0
        assert (await bo.post("/api/rooms", json={"title": "B3"})).status_code == 201
        code, out, _ = await admin(site, "list")
        assert "Room creation: anyone" in out
        assert "Administrators: ana@example.com" in out

        code, _, _ = await admin(site, "remove", "ana@example.com")
        assert code == 0
        assert (await ana.get("/api/account")).json()["account"]["admin"] is False
        code, _, err = await admin(site, "remove", "nobody@example.com")
        assert code == 2
        assert "no account has the address" in err
        code, _, _ = await admin(site, "add", "new.person@example.com")
        assert code == 0
        added = await site.app_state.accounts.store.account_by_email("new.person@example.com")
        assert added is not None
        assert (added.name, added.admin) == ("New Person", True)
        code, _, err = await admin(site, "add", "not an address")
        assert code == 2
        assert "not an email address" in err
    finally:
        await ana.aclose()
        await bo.aclose()


async def test_a_persons_data_on_request(
    site: RunningServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    await admin(site, "policy", "anyone")
    cy = await signed_in(site, smtp_server, "cy@example.com")
    try:
        created = (
            await cy.post("/api/rooms", json={"title": "Plans", "templates": ["action-plan"]})
        ).json()
        token = {"authorization": "Bearer " + created["join"]["token"]}
        posted = await cy.post(
            f"/api/rooms/{created['room']}/threads",
            json={"kind": "question", "body": "Is this mine?"},
            headers=token,
        )
        assert posted.status_code == 201
        # The same archive as the person downloads themselves.
        own = await cy.get("/api/account/export")
        assert own.status_code == 200
        assert own.headers["content-type"] == "application/zip"
        archive = tmp_path / "cy.zip"
        code, out, _ = await admin(site, "export", "cy@example.com", "--output", str(archive))
        assert code == 0, out
        for data in (own.content, archive.read_bytes()):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
                base = f"rooms/{created['room']}/"
                assert {
                    "README.txt",
                    "account.json",
                    base + "room.json",
                    base + "comments.md",
                    base + "documents/Action plan.md",
                } <= names
                assert json.loads(z.read("account.json"))["email"] == "cy@example.com"
                room = json.loads(z.read(base + "room.json"))
                assert [c["body"] for c in room["comments"]] == ["Is this mine?"]
                assert room["threads_started"][0]["kind"] == "question"
                assert "Is this mine?" in z.read(base + "comments.md").decode()
                assert "# Action plan" in z.read(base + "documents/Action plan.md").decode()

        code, out, _ = await admin(site, "delete", "cy@example.com")
        assert code == 0
        assert "Run again with --yes" in out
        assert (await cy.get("/api/account")).status_code == 200
        code, out, _ = await admin(site, "delete", "cy@example.com", "--yes")
        assert code == 0, out
        assert (await cy.get("/api/account")).status_code == 401
        assert await site.app_state.accounts.store.account_by_email("cy@example.com") is None
    finally:
        await cy.aclose()
