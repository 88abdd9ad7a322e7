"""Accounts over HTTP, with a real SMTP server receiving the emails.

- Signing in: ``POST /api/sign-in`` answers the same for a known and an unknown
  address; the email holds a link and a six-digit code; either signs in once (a used or
  expired link and a used code are refused with 410, an unknown link with 404); five
  wrong codes end the sign-in; codes and links are stored only as hashes; addresses are
  validated and normalised (one account however the address is typed); the emails are
  limited per address and per client address (429 with Retry-After).
- Sessions: the cookie is HttpOnly and SameSite=Strict; cookie routes that change
  something refuse a missing or foreign Origin (403 ``cross_site``); the device list,
  signing out one device, and everywhere.
- Seats: the same account gets the same participant in a room from a second device and
  after its room token expired; a removed account cannot come back through any invite;
  a guest keeps their seat by email (comments move with it); a facilitator changes roles
  (open sockets close with 4000 and come back with the new role; the last facilitator
  stays) and invites by email; rooms are created signed in, as the instance allows.
- Data rights: deleting an account leaves its comments as "A former participant".

On SQLite and PostgreSQL where storage decides (``database_url``).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from rooms.accounts import CreationPolicy
from server.storage.tables import AccountSessionRow, SignInRow
from tests.support.cluster import poll
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.smtp import SmtpServer, code_in, link_in, running_smtp_server, text_of
from tests.support.threads_client import event_connection
from tests.support.timing import timeout


@pytest.fixture
async def mail() -> AsyncIterator[SmtpServer]:
    async with running_smtp_server() as server:
        yield server


@pytest.fixture
async def site(database_url: str, mail: SmtpServer) -> AsyncIterator[RunningServer]:
    async with run_server(fast_settings(database_url, smtp_url=mail.url)) as running:
        await running.app_state.accounts.set_policy(CreationPolicy.ANYONE)
        yield running


class Browser:
    """One browser: an HTTP client keeping its cookies, sending this server's Origin."""

    def __init__(
        self, server: RunningServer, agent: str = "Mozilla/5.0 (X11; Linux) Firefox/140.0"
    ):
        self.server = server
        self.http = httpx.AsyncClient(
            base_url=server.http, headers={"origin": server.http, "user-agent": agent}
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def sign_in(self, mail: SmtpServer, email: str, **extra: Any) -> dict[str, Any]:
        """Ask for an email, open its link: the signed-in answer."""
        asked = await self.http.post("/api/sign-in", json={"email": email, **extra})
        assert asked.status_code == 202, asked.text
        message = await mail.next_message()
        return await self.open_link(message)

    async def open_link(self, message: EmailMessage) -> dict[str, Any]:
        token = link_in(message).rsplit("/", 1)[1]
        redeemed = await self.http.post("/api/sign-in/link", json={"token": token})
        assert redeemed.status_code == 200, redeemed.text
        body: dict[str, Any] = redeemed.json()
        return body

    async def room_token(self, room: str) -> dict[str, Any]:
        response = await self.http.post(f"/api/account/rooms/{room}/token")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def create_room(self, title: str, templates: list[str] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/api/rooms", json={"title": title, "templates": templates or []}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def browsers(site: RunningServer) -> AsyncIterator[list[Browser]]:
    opened: list[Browser] = []
    yield opened
    for b in opened:
        await b.close()


def new_browser(site: RunningServer, browsers: list[Browser], agent: str | None = None) -> Browser:
    b = Browser(site) if agent is None else Browser(site, agent)
    browsers.append(b)
    return b


def bearer(joined: dict[str, Any]) -> dict[str, str]:
    return {"authorization": "Bearer " + joined["token"]}


# Signing in


async def test_sign_in_by_link_creates_the_account_once_and_sets_a_safe_cookie(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    phone = new_browser(site, browsers)
    asked = await phone.http.post(
        "/api/sign-in", json={"email": "  Ana.Perez@Example.COM ", "next": "/room/abc"}
    )
    assert asked.status_code == 202
    assert asked.json() == {"email": "ana.perez@example.com", "expires_in": 900}
    message = await mail.next_message()
    assert message["To"] == "ana.perez@example.com"
    token = link_in(message).rsplit("/", 1)[1]
    assert link_in(message) == f"{site.http}/sign-in/{token}"
    redeemed = await phone.http.post("/api/sign-in/link", json={"token": token})
    assert redeemed.status_code == 200, redeemed.text
    body = redeemed.json()
    assert body["account"]["email"] == "ana.perez@example.com"
    assert body["account"]["name"] == "Ana Perez"
    assert body["next"] == "/room/abc"
    cookie = redeemed.headers["set-cookie"]
    assert cookie.startswith("roundtable_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    me = await phone.http.get("/api/account")
    assert me.status_code == 200
    assert me.json()["account"]["id"] == body["account"]["id"]

    # The same link again: used. A second sign-in of the same address: the same account.
    again = await phone.http.post("/api/sign-in/link", json={"token": token})
    assert again.status_code == 410
    assert again.json()["error"]["code"] == "link_used"
    laptop = new_browser(site, browsers)
    second = await laptop.sign_in(mail, "ANA.PEREZ@example.com")
    assert second["account"]["id"] == body["account"]["id"]


async def test_the_answer_does_not_tell_whether_an_account_exists(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    b = new_browser(site, browsers)
    await b.sign_in(mail, "known@example.com")
    known = await b.http.post("/api/sign-in", json={"email": "known@example.com"})
    unknown = await b.http.post("/api/sign-in", json={"email": "unknown@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json().keys() == unknown.json().keys()
    assert known.json()["expires_in"] == unknown.json()["expires_in"]
    # Both get an email of the same kind.
    first, second = await mail.next_message(), await mail.next_message()
    assert {first["To"], second["To"]} == {"known@example.com", "unknown@example.com"}
    assert first["Subject"].split(":")[0] == second["Subject"].split(":")[0]


async def test_the_code_signs_in_another_browser_once(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    phone, laptop = new_browser(site, browsers), new_browser(site, browsers)
    await phone.http.post("/api/sign-in", json={"email": "bo@example.com", "next": "/x"})
    message = await mail.next_message()
    code = code_in(message)
    assert re.fullmatch(r"\d{6}", code)
    assert code in message["Subject"].replace(" ", "")
    signed = await laptop.http.post(
        "/api/sign-in/code", json={"email": "bo@example.com", "code": code[:3] + " " + code[3:]}
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["next"] == "/x"
    assert (await laptop.http.get("/api/account")).status_code == 200
    # The phone never signed in; the code and the link are spent.
    assert (await phone.http.get("/api/account")).status_code == 401
    reused = await phone.http.post(
        "/api/sign-in/code", json={"email": "bo@example.com", "code": code}
    )
    assert reused.status_code == 410
    token = link_in(message).rsplit("/", 1)[1]
    link = await phone.http.post("/api/sign-in/link", json={"token": token})
    assert link.json()["error"]["code"] == "link_used"


async def test_five_wrong_codes_end_the_sign_in(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    b = new_browser(site, browsers)
    await b.http.post("/api/sign-in", json={"email": "cy@example.com"})
    message = await mail.next_message()
    right = code_in(message)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(5):
        answer = await b.http.post(
            "/api/sign-in/code", json={"email": "cy@example.com", "code": wrong}
        )
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "wrong_code"
    late = await b.http.post("/api/sign-in/code", json={"email": "cy@example.com", "code": right})
    assert late.status_code == 410
    assert late.json()["error"]["code"] == "code_expired"
    # The link of that email is dead too.
    token = link_in(message).rsplit("/", 1)[1]
    link = await b.http.post("/api/sign-in/link", json={"token": token})
    assert link.status_code == 410


async def test_expired_and_unknown_links_are_told_apart(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    b = new_browser(site, browsers)
    await b.http.post("/api/sign-in", json={"email": "di@example.com"})
    message = await mail.next_message()
    async with site.app_state.store.engine.begin() as connection:
        await connection.execute(
            update(SignInRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    token = link_in(message).rsplit("/", 1)[1]
    expired = await b.http.post("/api/sign-in/link", json={"token": token})
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "link_expired"
    code = await b.http.post(
        "/api/sign-in/code", json={"email": "di@example.com", "code": code_in(message)}
    )
    assert code.status_code == 410
    unknown = await b.http.post("/api/sign-in/link", json={"token": "x" * 43})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_link"
    for bad in (None, 12, "", "a/b", "x" * 500):
        refused = await b.http.post("/api/sign-in/link", json={"token": bad})
        assert refused.status_code == 404, bad


async def test_links_and_codes_are_stored_only_as_hashes(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    b = new_browser(site, browsers)
    await b.http.post("/api/sign-in", json={"email": "ed@example.com"})
    message = await mail.next_message()
    token, code = link_in(message).rsplit("/", 1)[1], code_in(message)
    async with site.app_state.store.engine.connect() as connection:
        row = (await connection.execute(select(SignInRow))).one()
    stored = " ".join(str(v) for v in row)
    assert token not in stored
    assert row.link_hash == hashlib.sha256(token.encode()).hexdigest()
    assert code not in row.code_hash
    assert row.code_hash != hashlib.sha256(code.encode()).hexdigest()


@pytest.mark.parametrize(
    "email",
    ["", "no-at-sign", "a@b", "two@@example.com", "a b@example.com", "x" * 250 + "@e.com", 7],
)
async def test_invalid_addresses_are_refused(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser], email: object
) -> None:
    b = new_browser(site, browsers)
    answer = await b.http.post("/api/sign-in", json={"email": email})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_email"
    assert mail.waiting() == 0


async def test_sign_in_emails_are_limited_per_address_and_per_client(
    database_url: str, mail: SmtpServer
) -> None:
    settings = fast_settings(
        database_url,
        smtp_url=mail.url,
        max_sign_ins_per_email_per_hour=2,
        max_sign_ins_per_address_per_hour=4,
    )
    async with run_server(settings) as server:
        b = Browser(server)
        try:
            for _ in range(2):
                ok = await b.http.post("/api/sign-in", json={"email": "fi@example.com"})
                assert ok.status_code == 202
            limited = await b.http.post("/api/sign-in", json={"email": "fi@example.com"})
            assert limited.status_code == 429
            assert limited.json()["error"]["code"] == "too_many_sign_ins"
            assert 3000 < int(limited.headers["retry-after"]) <= 3601
            # The same answer for an address that has no account and one that has.
            for other in ("g1@example.com", "g2@example.com"):
                assert (await b.http.post("/api/sign-in", json={"email": other})).status_code == 202
            by_client = await b.http.post("/api/sign-in", json={"email": "g3@example.com"})
            assert by_client.status_code == 429
            for _ in range(4):
                await mail.next_message()
            assert mail.waiting() == 0
        finally:
            await b.close()


# Sessions


async def test_cookie_routes_refuse_other_sites(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    b = new_browser(site, browsers)
    await b.sign_in(mail, "gu@example.com")
    cookies = b.http.cookies
    for headers in ({"origin": "https://evil.example"}, {}, {"origin": "null"}):
        async with httpx.AsyncClient(base_url=site.http, cookies=cookies) as foreign:
            for method, path, body in (
                ("POST", "/api/rooms", {"title": "Mine now"}),
                ("POST", "/api/sign-out/everywhere", None),
                ("PATCH", "/api/account", {"name": "Hacked"}),
                ("DELETE", "/api/account", {"email": "gu@example.com"}),
                ("POST", "/api/sign-in/code", {"email": "gu@example.com", "code": "000000"}),
            ):
                answer = await foreign.request(method, path, json=body, headers=headers)
                assert answer.status_code == 403, (headers, path)
                assert answer.json()["error"]["code"] == "cross_site"
    cross = await b.http.get("/api/account", headers={"sec-fetch-site": "cross-site"})
    assert cross.status_code == 403
    # Nothing changed: still signed in, same name.
    me = await b.http.get("/api/account")
    assert me.json()["account"]["name"] == "Gu"
    assert me.json()["rooms"] == []


async def test_devices_are_listed_and_signed_out_one_by_one_or_everywhere(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    phone = new_browser(
        site, browsers, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1"
    )
    laptop = new_browser(site, browsers, "Mozilla/5.0 (Windows NT 10.0) Chrome/140.0 Safari/537")
    tablet = new_browser(site, browsers)
    for b in (phone, laptop, tablet):
        await b.sign_in(mail, "ha@example.com")
    listed = (await laptop.http.get("/api/account/sessions")).json()["sessions"]
    assert len(listed) == 3
    devices = {s["device"]: s for s in listed}
    assert set(devices) == {"Safari on iPhone", "Chrome on Windows", "Firefox on Linux"}
    assert [s["current"] for s in listed].count(True) == 1
    assert devices["Chrome on Windows"]["current"]
    # The laptop signs the phone out.
    gone = await laptop.http.delete(f"/api/account/sessions/{devices['Safari on iPhone']['id']}")
    assert gone.status_code == 204
    assert (await phone.http.get("/api/account")).status_code == 401
    assert (await tablet.http.get("/api/account")).status_code == 200
    # Someone else's session id: 404.
    other = new_browser(site, browsers)
    await other.sign_in(mail, "other@example.com")
    theirs = (await other.http.get("/api/account/sessions")).json()["sessions"][0]["id"]
    assert (await laptop.http.delete(f"/api/account/sessions/{theirs}")).status_code == 404
    assert (await other.http.get("/api/account")).status_code == 200
    # Everywhere: laptop and tablet.
    assert (await laptop.http.post("/api/sign-out/everywhere")).status_code == 204
    assert (await laptop.http.get("/api/account")).status_code == 401
    assert (await tablet.http.get("/api/account")).status_code == 401
    assert (await other.http.get("/api/account")).status_code == 200


async def test_sign_out_ends_this_browser_only(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    a, b = new_browser(site, browsers), new_browser(site, browsers)
    await a.sign_in(mail, "io@example.com")
    await b.sign_in(mail, "io@example.com")
    out = await a.http.post("/api/sign-out")
    assert out.status_code == 204
    assert (
        'roundtable_session=""' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    assert (await a.http.get("/api/account")).status_code == 401
    assert (await b.http.get("/api/account")).status_code == 200


# Seats


async def test_one_account_is_one_participant_on_every_device(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner = new_browser(site, browsers)
    await owner.sign_in(mail, "fay@example.com")
    created = await owner.create_room("Cohort 7", ["best-practices", "action-plan"])
    assert created["join"]["role"] == "facilitator"
    assert created["documents"] == ["Best-practices guide", "Action plan"]
    assert created["links"]["member"] == f"{site.http}/join/{created['invites']['member']}"

    phone, laptop = new_browser(site, browsers), new_browser(site, browsers)
    await phone.sign_in(mail, "lu@example.com")
    await laptop.sign_in(mail, "lu@example.com")
    joined = await phone.http.post(
        "/api/account/join", json={"invite": created["invites"]["member"]}
    )
    assert joined.status_code == 200, joined.text
    first = joined.json()
    assert first["participant"]["guest"] is False
    again = await laptop.http.post(
        "/api/account/join", json={"invite": created["invites"]["member"]}
    )
    assert again.json()["participant"]["id"] == first["participant"]["id"]
    opened = await laptop.room_token(created["room"])
    assert opened["participant"]["id"] == first["participant"]["id"]
    # The observer link does not lower the seat; the facilitator link lifts it.
    observer = await laptop.http.post(
        "/api/account/join", json={"invite": created["invites"]["observer"]}
    )
    assert observer.json()["role"] == "member"
    # The room lists one Lu.
    people = await laptop.http.get(
        f"/api/rooms/{created['room']}/participants", headers=bearer(opened)
    )
    names = [p["name"] for p in people.json()["participants"]]
    assert sorted(names) == ["Fay", "Lu"]
    # Home: both see the room with their role.
    rooms = (await laptop.http.get("/api/account")).json()["rooms"]
    assert [(r["room"], r["role"]) for r in rooms] == [(created["room"], "member")]
    # Not a member: 404.
    stranger = new_browser(site, browsers)
    await stranger.sign_in(mail, "st@example.com")
    refused = await stranger.http.post(f"/api/account/rooms/{created['room']}/token")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_a_member"


async def test_what_is_new_counts_since_the_last_visit(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner, member = new_browser(site, browsers), new_browser(site, browsers)
    await owner.sign_in(mail, "ma@example.com")
    await member.sign_in(mail, "ni@example.com")
    created = await owner.create_room("Weekly")
    joined = (
        await member.http.post("/api/account/join", json={"invite": created["invites"]["member"]})
    ).json()
    assert (await member.http.get("/api/account")).json()["rooms"][0]["new_activity"] == 0
    for text in ("First question?", "Second?"):
        posted = await owner.http.post(
            f"/api/rooms/{created['room']}/threads",
            json={"kind": "question", "body": text},
            headers=bearer(created["join"]),
        )
        assert posted.status_code == 201, posted.text
    assert (await member.http.get("/api/account")).json()["rooms"][0]["new_activity"] == 2
    await member.room_token(joined["room"])
    assert (await member.http.get("/api/account")).json()["rooms"][0]["new_activity"] == 0


async def test_removal_keeps_the_account_out_of_the_room(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner, person = new_browser(site, browsers), new_browser(site, browsers)
    await owner.sign_in(mail, "og@example.com")
    await person.sign_in(mail, "pa@example.com")
    created = await owner.create_room("Closed")
    joined = (
        await person.http.post("/api/account/join", json={"invite": created["invites"]["member"]})
    ).json()
    removed = await owner.http.delete(
        f"/api/rooms/{created['room']}/participants/{joined['participant']['id']}",
        headers=bearer(created["join"]),
    )
    assert removed.status_code == 204
    for invite in created["invites"].values():
        again = await person.http.post("/api/account/join", json={"invite": invite})
        assert again.status_code == 403, invite
        assert again.json()["error"]["code"] == "removed"
    token = await person.http.post(f"/api/account/rooms/{created['room']}/token")
    assert token.status_code == 403
    # A second device of the same person: still out.
    other = new_browser(site, browsers)
    await other.sign_in(mail, "pa@example.com")
    assert (
        await other.http.post("/api/account/join", json={"invite": created["invites"]["member"]})
    ).status_code == 403
    assert (await person.http.get("/api/account")).json()["rooms"] == []


async def test_a_guest_keeps_their_seat_and_comments_by_email(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner = new_browser(site, browsers)
    await owner.sign_in(mail, "qi@example.com")
    created = await owner.create_room("Open")
    guest_browser = new_browser(site, browsers)
    guest = (
        await guest_browser.http.post(
            "/api/join", json={"invite": created["invites"]["member"], "name": "Rae"}
        )
    ).json()
    assert guest["participant"]["guest"] is True
    thread = await guest_browser.http.post(
        f"/api/rooms/{created['room']}/threads",
        json={"kind": "comment", "body": "Mine"},
        headers=bearer(guest),
    )
    assert thread.status_code == 201
    kept = await guest_browser.http.post(
        f"/api/rooms/{created['room']}/participants/me/email",
        json={"email": "rae@example.com"},
        headers=bearer(guest),
    )
    assert kept.status_code == 202, kept.text
    message = await mail.next_message()
    assert "Open" in message["Subject"]
    # Opened on a phone: signed in, and the seat is the account's; the room is told.
    phone = new_browser(site, browsers)
    async with event_connection(events_of(site, created["join"])) as events:
        signed = await phone.open_link(message)
        told = await events.feed.wait_for(lambda m: m["type"] == "participant.updated")
        assert told["data"] == {"participant_id": guest["participant"]["id"], "guest": False}
    assert signed["next"] == f"/room/{created['room']}"
    assert signed["account"]["name"] == "Rae"
    opened = await phone.room_token(created["room"])
    assert opened["participant"]["id"] == guest["participant"]["id"]
    assert opened["participant"]["guest"] is False
    threads = await phone.http.get(f"/api/rooms/{created['room']}/threads", headers=bearer(opened))
    assert [t["author"]["id"] for t in threads.json()["threads"]] == [guest["participant"]["id"]]
    # Not a guest any more.
    twice = await phone.http.post(
        f"/api/rooms/{created['room']}/participants/me/email",
        json={"email": "rae@example.com"},
        headers=bearer(opened),
    )
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "not_a_guest"


async def test_a_facilitator_changes_roles_and_the_room_keeps_one(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner, member = new_browser(site, browsers), new_browser(site, browsers)
    await owner.sign_in(mail, "sa@example.com")
    await member.sign_in(mail, "ty@example.com")
    created = await owner.create_room("Roles")
    room = created["room"]
    joined = (
        await member.http.post("/api/account/join", json={"invite": created["invites"]["member"]})
    ).json()
    person = joined["participant"]["id"]
    me = created["join"]["participant"]["id"]
    # A member may not.
    denied = await member.http.patch(
        f"/api/rooms/{room}/participants/{me}", json={"role": "member"}, headers=bearer(joined)
    )
    assert denied.status_code == 403
    # The only facilitator cannot step down.
    last = await owner.http.patch(
        f"/api/rooms/{room}/participants/{me}",
        json={"role": "member"},
        headers=bearer(created["join"]),
    )
    assert last.status_code == 409
    assert last.json()["error"]["code"] == "last_facilitator"
    promoted = await owner.http.patch(
        f"/api/rooms/{room}/participants/{person}",
        json={"role": "facilitator"},
        headers=bearer(created["join"]),
    )
    assert promoted.status_code == 200
    assert promoted.json()["participant"]["role"] == "facilitator"
    # The member's old token now acts as a facilitator's: the role is read from storage.
    invites = await member.http.get(f"/api/rooms/{room}/invites", headers=bearer(joined))
    assert invites.status_code == 200
    state = await member.http.get(f"/api/rooms/{room}", headers=bearer(joined))
    assert state.json()["you"]["role"] == "facilitator"
    # Now the first facilitator may step down, and is a member.
    down = await owner.http.patch(
        f"/api/rooms/{room}/participants/{me}",
        json={"role": "member"},
        headers=bearer(created["join"]),
    )
    assert down.status_code == 200
    assert (
        await owner.http.get(f"/api/rooms/{room}/invites", headers=bearer(created["join"]))
    ).status_code == 403
    bad = await member.http.patch(
        f"/api/rooms/{room}/participants/{me}", json={"role": "owner"}, headers=bearer(joined)
    )
    assert bad.status_code == 422


async def test_an_invitation_by_email_seats_the_person_with_its_role(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner = new_browser(site, browsers)
    await owner.sign_in(mail, "ul@example.com")
    created = await owner.create_room("Invited")
    sent = await owner.http.post(
        f"/api/rooms/{created['room']}/invitations",
        json={"email": "Vi@Example.com", "role": "observer"},
        headers=bearer(created["join"]),
    )
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"email": "vi@example.com", "role": "observer"}
    # A mentor is invited for a document (its own route), not to the room.
    as_mentor = await owner.http.post(
        f"/api/rooms/{created['room']}/invitations",
        json={"email": "m@example.com", "role": "mentor"},
        headers=bearer(created["join"]),
    )
    assert as_mentor.status_code == 422
    message = await mail.next_message()
    assert message["To"] == "vi@example.com"
    assert "Ul invited you to Invited" in message["Subject"]
    assert "Observer" in text_of(message)
    invited = new_browser(site, browsers)
    signed = await invited.open_link(message)
    assert signed["next"] == f"/room/{created['room']}"
    opened = await invited.room_token(created["room"])
    assert opened["role"] == "observer"
    # A member may not invite.
    member = (
        await invited.http.post(
            "/api/join", json={"invite": created["invites"]["member"], "name": "W"}
        )
    ).json()
    refused = await invited.http.post(
        f"/api/rooms/{created['room']}/invitations",
        json={"email": "x@example.com", "role": "member"},
        headers=bearer(member),
    )
    assert refused.status_code == 403


async def test_who_may_create_rooms_is_the_instance_setting(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    accounts = site.app_state.accounts
    await accounts.set_policy(CreationPolicy.LISTED)
    listed, domain, other = (new_browser(site, browsers) for _ in range(3))
    await listed.sign_in(mail, "wu@example.com")
    await domain.sign_in(mail, "xi@school.example")
    await other.sign_in(mail, "yo@example.com")
    await accounts.store.add_room_creator("wu@example.com")
    await accounts.store.add_room_creator("@school.example")
    for b in (listed, domain):
        assert (await b.http.get("/api/account")).json()["account"]["can_create_rooms"]
        await b.create_room("Allowed")
    assert not (await other.http.get("/api/account")).json()["account"]["can_create_rooms"]
    refused = await other.http.post("/api/rooms", json={"title": "Not allowed"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_allowed_to_create"
    async with httpx.AsyncClient(base_url=site.http, headers={"origin": site.http}) as nobody:
        signed_out = await nobody.post("/api/rooms", json={"title": "Nobody"})
    assert signed_out.status_code == 401


async def test_deleting_an_account_leaves_its_comments_to_a_former_participant(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner, leaver = new_browser(site, browsers), new_browser(site, browsers)
    await owner.sign_in(mail, "zo@example.com")
    await leaver.sign_in(mail, "ab@example.com")
    created = await owner.create_room("Leaving")
    joined = (
        await leaver.http.post("/api/account/join", json={"invite": created["invites"]["member"]})
    ).json()
    posted = await leaver.http.post(
        f"/api/rooms/{created['room']}/threads",
        json={"kind": "comment", "body": "Something I said"},
        headers=bearer(joined),
    )
    assert posted.status_code == 201
    wrong = await leaver.http.request("DELETE", "/api/account", json={"email": "zz@example.com"})
    assert wrong.status_code == 422
    deleted = await leaver.http.request("DELETE", "/api/account", json={"email": "AB@example.com"})
    assert deleted.status_code == 204
    assert (await leaver.http.get("/api/account")).status_code == 401
    threads = await owner.http.get(
        f"/api/rooms/{created['room']}/threads", headers=bearer(created["join"])
    )
    (thread,) = threads.json()["threads"]
    assert thread["author"]["name"] == "A former participant"
    assert thread["comments"][0]["body"] == "Something I said"
    assert await site.app_state.accounts.store.account_by_email("ab@example.com") is None
    # Its old token no longer works; signing in again makes a new, empty account.
    assert (
        await leaver.http.get(f"/api/rooms/{created['room']}", headers=bearer(joined))
    ).status_code == 403
    again = new_browser(site, browsers)
    fresh = await again.sign_in(mail, "ab@example.com")
    assert fresh["account"]["id"] != joined["participant"]["id"]
    assert (await again.http.get("/api/account")).json()["rooms"] == []


async def test_two_devices_joining_at_once_get_one_seat(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner = new_browser(site, browsers)
    await owner.sign_in(mail, "cd@example.com")
    created = await owner.create_room("Race")
    devices = [new_browser(site, browsers) for _ in range(4)]
    for d in devices:
        await d.sign_in(mail, "ef@example.com")
    answers = await asyncio.gather(
        *(
            d.http.post("/api/account/join", json={"invite": created["invites"]["member"]})
            for d in devices
        )
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["participant"]["id"] for a in answers}) == 1


def events_of(site: RunningServer, joined: dict[str, Any]) -> str:
    return f"ws://127.0.0.1:{site.port}/events/{joined['room']}?token={joined['token']}"


async def test_signing_out_everywhere_ends_the_room_tokens_and_sockets_of_those_browsers(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner, phone, laptop = (new_browser(site, browsers) for _ in range(3))
    await owner.sign_in(mail, "jo@example.com")
    await phone.sign_in(mail, "ka@example.com")
    created = await owner.create_room("Signed out")
    on_phone = (
        await phone.http.post("/api/account/join", json={"invite": created["invites"]["member"]})
    ).json()
    guest = (
        await laptop.http.post(
            "/api/join", json={"invite": created["invites"]["member"], "name": "Guest"}
        )
    ).json()
    async with (
        event_connection(events_of(site, on_phone)) as phone_events,
        event_connection(events_of(site, guest)) as guest_events,
        event_connection(events_of(site, created["join"])) as owner_events,
    ):
        assert (await laptop.http.post("/api/sign-out/everywhere")).status_code == 401
        assert (await phone.http.post("/api/sign-out/everywhere")).status_code == 204
        await asyncio.wait_for(phone_events.reader, timeout(10))
        assert phone_events.ws.close_code == 4401
        assert phone_events.ws.close_reason == "this browser was signed out"
        # Others stay, and learn nothing of the sessions.
        seen = await owner_events.feed.wait_for(lambda m: m["type"] == "participant.signed_out")
        assert seen["data"] == {"participant_id": on_phone["participant"]["id"]}
        assert not guest_events.reader.done()
    refused = await phone.http.get(f"/api/rooms/{created['room']}", headers=bearer(on_phone))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "signed_out"
    # Signing in again gives the same seat a working token.
    await phone.sign_in(mail, "ka@example.com")
    again = await phone.room_token(created["room"])
    assert again["participant"]["id"] == on_phone["participant"]["id"]
    assert (
        await phone.http.get(f"/api/rooms/{created['room']}", headers=bearer(again))
    ).status_code == 200


async def test_a_role_change_reconnects_the_person_with_the_new_role(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner, member = new_browser(site, browsers), new_browser(site, browsers)
    await owner.sign_in(mail, "le@example.com")
    created = await owner.create_room("Reconnect")
    joined = (
        await member.http.post(
            "/api/join", json={"invite": created["invites"]["observer"], "name": "Mo"}
        )
    ).json()
    async with event_connection(events_of(site, joined)) as events:
        changed = await owner.http.patch(
            f"/api/rooms/{created['room']}/participants/{joined['participant']['id']}",
            json={"role": "member"},
            headers=bearer(created["join"]),
        )
        assert changed.status_code == 200
        await asyncio.wait_for(events.reader, timeout(10))
        assert events.ws.close_code == 4000
        told = [m for m in events.feed.messages if m.get("type") == "participant.role"]
        assert told[0]["data"]["role"] == "member"
    async with event_connection(events_of(site, joined)) as events:
        state = await member.http.get(f"/api/rooms/{created['room']}", headers=bearer(joined))
        assert state.json()["you"]["role"] == "member"
        roster = await events.feed.wait_for(
            lambda m: (
                m["type"] == "roster"
                and any(p["id"] == joined["participant"]["id"] for p in m["participants"])
            )
        )
        mine = next(p for p in roster["participants"] if p["id"] == joined["participant"]["id"])
        assert mine["role"] == "member"


async def test_a_room_that_takes_no_guests_keeps_a_removed_person_out_for_good(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner, person = new_browser(site, browsers), new_browser(site, browsers)
    await owner.sign_in(mail, "nu@example.com")
    created = await owner.create_room("Accounts only")
    room = created["room"]
    changed = await owner.http.patch(
        f"/api/rooms/{room}/settings",
        json={"guests_allowed": False},
        headers=bearer(created["join"]),
    )
    assert changed.status_code == 200
    assert changed.json()["settings"]["guests_allowed"] is False
    guest = await person.http.post(
        "/api/join", json={"invite": created["invites"]["member"], "name": "Anon"}
    )
    assert guest.status_code == 403
    assert guest.json()["error"]["code"] == "sign_in_required"
    # Signed in, the same link works.
    await person.sign_in(mail, "om@example.com")
    joined = await person.http.post(
        "/api/account/join", json={"invite": created["invites"]["member"]}
    )
    assert joined.status_code == 200


async def test_a_visit_with_a_saved_token_counts_as_seen(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    owner, member = new_browser(site, browsers), new_browser(site, browsers)
    await owner.sign_in(mail, "pi@example.com")
    await member.sign_in(mail, "qu@example.com")
    created = await owner.create_room("Seen")
    joined = (
        await member.http.post("/api/account/join", json={"invite": created["invites"]["member"]})
    ).json()
    await owner.http.post(
        f"/api/rooms/{created['room']}/threads",
        json={"kind": "question", "body": "While you were away?"},
        headers=bearer(created["join"]),
    )
    assert (await member.http.get("/api/account")).json()["rooms"][0]["new_activity"] == 1
    # The page opens with the token it kept (no new token asked for), then closes.
    async with event_connection(events_of(site, joined)):
        pass

    async def seen() -> bool:
        rooms = (await member.http.get("/api/account")).json()["rooms"]
        return bool(rooms[0]["new_activity"] == 0)

    await poll(seen, 10, "the visit to be noted")


async def test_sign_ins_and_sessions_past_any_use_are_forgotten(
    site: RunningServer, mail: SmtpServer, browsers: list[Browser]
) -> None:
    b = new_browser(site, browsers)
    await b.sign_in(mail, "ol@example.com")
    engine = site.app_state.store.engine
    long_ago = datetime.now(UTC) - timedelta(days=2)
    async with engine.begin() as connection:
        await connection.execute(update(SignInRow).values(expires_at=long_ago))
        await connection.execute(update(AccountSessionRow).values(expires_at=long_ago))
    assert (await b.http.get("/api/account")).status_code == 401
    await b.http.post("/api/sign-in", json={"email": "pe@example.com"})
    await mail.next_message()
    async with engine.connect() as connection:
        emails = (await connection.execute(select(SignInRow.email))).scalars().all()
        sessions = (await connection.execute(select(AccountSessionRow.id))).scalars().all()
    assert (list(emails), list(sessions)) == (["pe@example.com"], [])
