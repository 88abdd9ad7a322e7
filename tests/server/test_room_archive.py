"""``roundtable room export`` and ``roundtable room import`` as an operator runs them:
a room with two people's edits, a saved version, a question with a reply, reactions and
an accepted answer on an anchored passage, changed settings, a removed participant and
a seat linked to an account goes from a SQLite instance to a fresh PostgreSQL one (and
to another SQLite one) and reads back the same through the app; the refusals leave the
target as it was."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from crdt.anchors import anchor_index
from crdt.authorship import blocks
from crdt.content import content_of
from crdt.document import compact
from rooms.directory import CreatedRoom
from rooms.roles import Role
from server import room_archive
from server.room_archive import read_archive
from server.room_transfer import TransferRefused, export_room, import_room
from server.storage.archive import SECTIONS
from server.storage.store import SqlStore, create_engine
from server.storage.tables import AccountRow, Base, ParticipantRow, RoomRow, utcnow
from tests.server.http.test_authorship import position, server_text, write
from tests.server.test_cli import _run
from tests.support.harness import RunningServer, run_server
from tests.support.services import fresh_postgres_database
from tests.support.settings import fast_settings
from tests.support.threads_client import Person, join
from tests.support.timing import eventually
from tests.support.yclient import close_all, open_synced


@dataclass
class Built:
    room: CreatedRoom
    fay: Person
    ann: Person
    ben: Person
    rob: Person


async def build_room(server: RunningServer) -> Built:
    room = await server.create_room("Archive sprint")
    fay = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    ben = await join(server, room, Role.MEMBER, "Ben")
    rob = await join(server, room, Role.MEMBER, "Rob")
    await fay.ok("POST", "/documents", {"name": "plan"}, 201)
    await fay.ok("POST", "/documents", {"name": "retro", "template": "best-practices"}, 201)
    url = server.sync_url(room.room.slug) + "/plan"
    anns, bens = await open_synced(url, ann.token), await open_synced(url, ben.token)
    try:
        (first,) = write(anns, "Keep the quick brown fox")
        write(bens, "Ben adds a second line")
        await eventually(
            lambda: len(server_text(server, room, "plan")) == 2, 10, "both edits to arrive"
        )
        me = anns.doc.client_id
        quick = {"start": position(me, first + 9), "end": position(me, first + 13, -1)}
        question = await ann.start(
            "Why quick?",
            kind="question",
            document="plan",
            anchor={**quick, "quote": "quick"},
        )
        thread_id = question["id"]
        answer = await ben.reply(thread_id, "Because it reads well")
        answer_id = answer["comment"]["id"]
        await fay.ok("PUT", f"/comments/{answer_id}/reactions/thanks")
        await ann.ok("PUT", f"/comments/{answer_id}/reactions/aha")
        await ann.ok("PATCH", f"/threads/{thread_id}", {"accepted_comment_id": answer_id})
        await rob.start("A general remark from Rob")
        await fay.ok("POST", "/documents/plan/versions", {"name": "First draft"}, 201)
        write(anns, "Written after the version")
        await eventually(
            lambda: len(server_text(server, room, "plan")) == 3, 10, "the later edit to arrive"
        )
    finally:
        await close_all(anns, bens)
    await fay.ok("PATCH", "/settings", {"observers_can_ask": True, "max_participants": 7})
    await fay.ok("DELETE", f"/participants/{rob.id}", {}, 204)
    # Ann's seat belongs to an account: on import it is linked by email.
    engine = create_engine(server.settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(AccountRow).values(
                    id="a" * 32, email="ann@example.com", name="Ann", created_at=utcnow()
                )
            )
            await connection.execute(
                update(ParticipantRow)
                .where(ParticipantRow.id == ann.id)
                .values(account_id="a" * 32)
            )
    finally:
        await engine.dispose()
    await server.app_state.hub.flush_all()
    return Built(room, fay, ann, ben, rob)


def as_person(person: Person, running: RunningServer, slug: str | None = None) -> Person:
    """The same participant (the same token: the test instances share their secret key)
    talking to another instance."""
    return Person(
        running.http, slug or person.room, person.token, person.id, person.name, person.role
    )


def without_ids(value: Any) -> Any:
    """A view with the numbers the target gives its rows left out."""
    if isinstance(value, dict):
        return {
            k: without_ids(v)
            for k, v in value.items()
            if k not in ("id", "thread_id", "comment_id", "accepted_comment_id", "version_id")
        }
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def without_numbers(value: Any) -> Any:
    """Records with the numbers each database gives its own rows left out."""
    if isinstance(value, dict):
        numbered = ("id", "document_id", "thread_id", "comment_id", "accepted_comment_id")
        return {k: without_numbers(v) for k, v in value.items() if k not in (*numbered, "markdown")}
    if isinstance(value, list):
        return [without_numbers(v) for v in value]
    return value


async def views(fay: Person) -> dict[str, Any]:
    """What the facilitator sees of the room, through the app."""
    threads = (await fay.ok("GET", "/threads"))["threads"]
    full = [await fay.thread(t["id"]) for t in sorted(threads, key=lambda t: t["created_at"])]
    versions = (await fay.ok("GET", "/documents/plan/versions"))["versions"]
    version_text = []
    for version in versions:
        exported = await fay.call(
            "GET", f"/documents/plan/versions/{version['id']}/export?format=markdown"
        )
        version_text.append(exported.text)
    authors = await fay.ok("GET", "/documents/plan/authors")
    markdown = (await fay.call("GET", "/documents/plan/export?format=markdown")).text
    return {
        "threads": without_ids(full),
        "versions": without_ids(versions),
        "version_text": version_text,
        "settings": await fay.ok("GET", "/settings"),
        "participants": await fay.ok("GET", "/participants"),
        "authors": authors,
        "markdown": markdown,
        "documents": without_ids(await fay.ok("GET", "/documents")),
    }


async def people_rows(database_url: str, slug: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(
                    ParticipantRow.name,
                    ParticipantRow.role,
                    ParticipantRow.created_at,
                    ParticipantRow.removed_at,
                    ParticipantRow.colour,
                    AccountRow.email,
                )
                .join(RoomRow, RoomRow.id == ParticipantRow.room_id)
                .outerjoin(AccountRow, AccountRow.id == ParticipantRow.account_id)
                .where(RoomRow.slug == slug)
                .order_by(ParticipantRow.name)
            )
            return [tuple(r) for r in rows]
    finally:
        await engine.dispose()


async def stored_state(database_url: str, slug: str, name: str) -> bytes:
    engine = create_engine(database_url)
    store = SqlStore(engine)
    try:
        room = await store.get_room(slug)
        assert room is not None
        info = await store.get_document(room.id, name)
        assert info is not None
        stored = await store.load_document(info.id)
        return compact(stored.snapshot, stored.updates)
    finally:
        await engine.dispose()


async def row_counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return {
                table.name: (
                    await connection.execute(select(func.count()).select_from(table))
                ).scalar_one()
                for table in Base.metadata.sorted_tables
            }
    finally:
        await engine.dispose()


def resolved_words(state: bytes, anchor: dict[str, str]) -> str:
    """The words a thread's anchor covers in a document state."""
    doc = content_of(state)
    start = anchor_index(doc, base64.b64decode(anchor["start"]))
    end = anchor_index(doc, base64.b64decode(anchor["end"]))
    assert start is not None and end is not None
    # Ann's paragraph, wherever Ben's went.
    text = next(b.text for b in blocks(state) if b.text.startswith("Keep"))
    return text[start:end]


@pytest.fixture
async def source(tmp_path: Path) -> AsyncIterator[tuple[RunningServer, Built]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    async with run_server(fast_settings(url)) as running:
        yield running, await build_room(running)


@pytest.fixture(params=["postgres", "sqlite"])
async def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'target.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


async def export(database_url: str, slug: str, output: Path) -> None:
    code, out, err = await _run(
        "room", "export", slug, "--output", str(output), "--database-url", database_url
    )
    assert code == 0, err
    assert f"wrote room {slug}" in out


async def test_a_room_moves_to_another_instance_whole(
    source: tuple[RunningServer, Built], target_url: str, tmp_path: Path
) -> None:
    running, built = source
    slug = built.room.room.slug
    archive = tmp_path / "room.zip"
    await export(running.settings.database_url, slug, archive)
    before = await views(built.fay)
    state_before = await stored_state(running.settings.database_url, slug, "plan")
    people_before = await people_rows(running.settings.database_url, slug)

    code, out, err = await _run("room", "import", str(archive), "--database-url", target_url)
    assert code == 0, err
    assert f"imported room {slug} (Archive sprint): 2 documents, 1 versions" in out
    assert "accounts created for: ann@example.com" in out
    # The invites travel as they were.
    for role, invite in built.room.invites.items():
        assert f"{role.value:<12} invite {invite}" in out

    # The document's state is the same bytes; the people the same rows.
    assert await stored_state(target_url, slug, "plan") == state_before
    assert await people_rows(target_url, slug) == people_before
    assert [p[3] is not None for p in people_before if p[0] == "Rob"] == [True]

    # Exported again from the target, the room is the same records.
    again = tmp_path / "again.zip"
    await export_room(target_url, slug, again)
    _, first = read_archive(archive.read_bytes())
    _, second = read_archive(again.read_bytes())
    assert without_numbers(second.room) == without_numbers(first.room)
    for name in SECTIONS:
        if name != "room":
            assert without_numbers(second[name]) == without_numbers(first[name]), name
    assert len(first["comments"]) == 3
    assert len(first["claims"]) >= 2

    async with run_server(fast_settings(target_url)) as target:
        fay = as_person(built.fay, target)
        after = await views(fay)
        assert after == before
        # The anchor still covers the same word.
        [question] = [t for t in after["threads"] if t["kind"] == "question"]
        answers = [(c["body"], c["accepted"], len(c["reactions"])) for c in question["comments"]]
        assert answers[1:] == [("Because it reads well", True, 2)]
        assert resolved_words(state_before, question["anchor"]) == "quick"
        state_after = await stored_state(target_url, slug, "plan")
        assert resolved_words(state_after, question["anchor"]) == "quick"
        # The version restores, and the invites let people in.
        [version] = (await fay.ok("GET", "/documents/plan/versions"))["versions"]
        await fay.ok("POST", f"/documents/plan/versions/{version['id']}/restore")
        restored = (await fay.call("GET", "/documents/plan/export?format=markdown")).text
        assert "Written after the version" not in restored
        assert "Keep the quick brown fox" in restored
        newcomer = await join(target, built.room, Role.MEMBER, "Nia")
        assert newcomer.role is Role.MEMBER
        # Someone removed stays removed: their token is refused.
        rob = as_person(built.rob, target)
        assert (await rob.call("GET", "/threads")).status_code == 403

    # The archive itself: the manifest, Markdown, no secrets.
    with zipfile.ZipFile(archive) as opened:
        manifest = json.loads(opened.read("manifest.json"))
        assert manifest["format"] == "roundtable-room"
        assert manifest["format_version"] == 1
        assert manifest["schema_revision"] == "0010"
        assert manifest["room"] == {"slug": slug, "title": "Archive sprint"}
        documents = json.loads(opened.read("room.json"))["documents"]
        plan = next(d for d in documents if d["name"] == "plan")
        assert opened.read(plan["state"]) == state_before
        assert opened.read(plan["markdown"]).decode() == before["markdown"]
        everything = b"".join(opened.read(n) for n in opened.namelist())
    assert b"test-secret-key" not in everything
    assert built.fay.token.encode() not in everything


async def test_a_second_copy_gets_new_ids_that_still_fit_together(
    source: tuple[RunningServer, Built], tmp_path: Path
) -> None:
    running, built = source
    slug = built.room.room.slug
    database_url = running.settings.database_url
    archive = tmp_path / "room.zip"
    await export(database_url, slug, archive)

    code, _, err = await _run("room", "import", str(archive), "--database-url", database_url)
    assert code == 2
    assert f"a room with the slug {slug!r} exists already" in err
    assert "--slug" in err

    code, out, err = await _run(
        "room", "import", str(archive), "--slug", "archive-copy", "--database-url", database_url
    )
    assert code == 0, err
    assert "4 participant ids were taken here and got new ones" in out
    assert "(new: the archive's code is taken here)" in out

    # Same people, new ids; every client id still names the person who typed with it.
    original = await built.fay.ok("GET", "/documents/plan/authors")
    copy_people = await people_rows(database_url, "archive-copy")
    assert copy_people == await people_rows(database_url, slug)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            ids = dict(
                (
                    await connection.execute(
                        select(ParticipantRow.name, ParticipantRow.id)
                        .join(RoomRow, RoomRow.id == ParticipantRow.room_id)
                        .where(RoomRow.slug == "archive-copy")
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    assert ids["Fay"] != built.fay.id
    signer = running.app_state.signer
    copy_room = await running.app_state.directory.room("archive-copy")
    assert copy_room is not None
    fay_there = await running.app_state.participants.get_participant(ids["Fay"])
    assert fay_there is not None
    token, _ = signer.issue(fay_there, copy_room)
    fay = Person(running.http, "archive-copy", token, ids["Fay"], "Fay", Role.FACILITATOR)
    authors = await fay.ok("GET", "/documents/plan/authors")
    name_of = {p["participant_id"]: p["name"] for p in original["people"]}
    name_there = {p["participant_id"]: p["name"] for p in authors["people"]}
    assert {c: name_there[p] for c, p in authors["clients"].items()} == {
        c: name_of[p] for c, p in original["clients"].items()
    }
    threads = (await fay.ok("GET", "/threads"))["threads"]
    assert sorted(t["author"]["name"] for t in threads if t.get("author")) == sorted(
        t["author"]["name"]
        for t in (await built.fay.ok("GET", "/threads"))["threads"]
        if t.get("author")
    )


def rewritten(data: bytes, changes: dict[str, bytes | None]) -> bytes:
    """The archive with members replaced (None: removed), the manifest's checksums
    brought in line, so only the change itself is wrong."""
    source = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(source.read("manifest.json"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if name == "manifest.json":
                continue
            content = changes.get(name, source.read(name))
            if content is None:
                continue
            manifest["files"][name] = {
                "sha256": hashlib.sha256(content).hexdigest(),
                "size": len(content),
            }
            target.writestr(name, content)
        target.writestr("manifest.json", json.dumps(manifest))
    return out.getvalue()


async def test_refusals_leave_the_target_as_it_was(
    source: tuple[RunningServer, Built], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, built = source
    slug = built.room.room.slug
    archive = tmp_path / "room.zip"
    await export(running.settings.database_url, slug, archive)
    data = archive.read_bytes()
    room_json = json.loads(zipfile.ZipFile(archive).read("room.json"))
    manifest = json.loads(zipfile.ZipFile(archive).read("manifest.json"))
    plan = next(d for d in room_json["documents"] if d["name"] == "plan")
    listed_room = manifest["files"]["room.json"]
    unpacked = sum(entry["size"] for entry in manifest["files"].values())

    def with_room(change: dict[str, Any]) -> bytes:
        return rewritten(data, {"room.json": json.dumps({**room_json, **change}).encode()})

    def with_manifest(change: dict[str, Any]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as opened, zipfile.ZipFile(out, "w") as target:
            for name in opened.namelist():
                content = opened.read(name)
                if name == "manifest.json":
                    content = json.dumps({**manifest, **change}).encode()
                target.writestr(name, content)
        return out.getvalue()

    # One byte flipped inside room.json's compressed data.
    flipped = bytearray(data)
    info = zipfile.ZipFile(archive).getinfo("room.json")
    name_and_extra = int.from_bytes(
        data[info.header_offset + 26 : info.header_offset + 28], "little"
    )
    name_and_extra += int.from_bytes(
        data[info.header_offset + 28 : info.header_offset + 30], "little"
    )
    flipped[info.header_offset + 30 + name_and_extra + info.compress_size // 2] ^= 0xFF
    twin = {**room_json["documents"][1], "name": "plan"}
    last = room_json["comments"][-1]
    cases: list[tuple[str, bytes, str]] = [
        ("text", b"just some text\n", "not a Roundtable room archive (not a ZIP file)"),
        ("no-manifest", _zip({"room.json": b"{}"}), "no manifest.json"),
        ("other-format", with_manifest({"format": "something-else"}), "names another format"),
        ("version", with_manifest({"format_version": 99}), "unknown archive format version 99"),
        ("damaged", bytes(flipped), "the archive is damaged"),
        (
            "wrong-size",
            with_manifest(
                {"files": {**manifest["files"], "room.json": {**listed_room, "size": 12}}}
            ),
            "room.json does not match its size",
        ),
        ("missing-state", rewritten(data, {plan["state"]: None}), "is missing"),
        ("bad-state", rewritten(data, {plan["state"]: b"\x05\x00"}), "is not a Yjs update"),
        (
            "dangling",
            with_room({"comments": [*room_json["comments"][:-1], {**last, "thread_id": 999}]}),
            f"comments[{len(room_json['comments']) - 1}].thread_id names 999, "
            "which is not in the archive",
        ),
        (
            "wrong-type",
            with_room({"room": {**room_json["room"], "guests_allowed": "yes"}}),
            "room.guests_allowed is not true or false",
        ),
        # Well formed, but the database refuses the second document of the same name
        # after the room, its people and the first document went in: all of it goes.
        (
            "refused",
            with_room({"documents": [room_json["documents"][0], twin]}),
            "the database refused the archive, nothing was imported",
        ),
    ]
    async with fresh_postgres_database() as target_url:
        # Create the schema, so that the counts compare like with like.
        code, _, err = await _run("migrate", "--database-url", target_url)
        assert code == 0, err
        counts = await row_counts(target_url)
        for name, content, message in cases:
            path = tmp_path / f"{name}.zip"
            path.write_bytes(content)
            with pytest.raises(TransferRefused) as refused:
                await import_room(target_url, path, None)
            assert message in str(refused.value), name
            assert await row_counts(target_url) == counts, name
        with pytest.raises(TransferRefused, match="is not a room slug"):
            await import_room(target_url, archive, "Not A Slug")
        # Sizes are judged as the ZIP declares them, before anything is inflated.
        monkeypatch.setattr(room_archive, "MAX_UNPACKED_BYTES", unpacked - 1)
        with pytest.raises(
            TransferRefused, match=f"more than the {unpacked - 1} bytes a room archive may hold"
        ):
            await import_room(target_url, archive, None)
        monkeypatch.setattr(room_archive, "MAX_UNPACKED_BYTES", unpacked)
        monkeypatch.setattr(room_archive, "MAX_MANIFEST_BYTES", 100)
        with pytest.raises(TransferRefused, match=r"manifest\.json is over 100 bytes"):
            await import_room(target_url, archive, None)
        monkeypatch.undo()
        assert await row_counts(target_url) == counts
        # As the operator sees it.
        code, _, err = await _run(
            "room", "import", str(tmp_path / "refused.zip"), "--database-url", target_url
        )
        assert code == 2
        assert err.startswith("roundtable: the database refused the archive, nothing was imported")
        assert await row_counts(target_url) == counts
    with pytest.raises(TransferRefused, match="no room has the slug 'no-such-room'"):
        await export_room(running.settings.database_url, "no-such-room", tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()
