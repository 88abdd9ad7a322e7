"""The checks of what people type and send (``clean_text``, ``is_code``,
``document_name``), and the room directory on in-memory storage: creating rooms,
joining by invite within the room's participant cap, and finding or creating documents
within the document limit.

``clean_text`` is the one check of free text (names, titles, labels, comment bodies,
quotes); the HTTP tests of every field that uses it are in
``tests/server/http/test_text_inputs.py``.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rooms.directory import RoomDirectory, clean_text, document_name, is_code
from rooms.errors import Conflict, Forbidden, Invalid, NotFound, Refused
from rooms.memory import (
    MemoryControlStore,
    MemoryParticipantStore,
    MemoryStore,
    MemoryThreadStore,
)
from rooms.roles import INVITE_ROLES, Role
from rooms.threads import RoomSettings

PROPERTY = settings(database=None, max_examples=1000)

# Refused on one line (a name, max 64) and in multiline text (a body) alike.
REFUSED_EVERYWHERE: dict[str, object] = {
    "lone high surrogate": "Caf\ud800",
    "lone low surrogate": "\udc80x",
    "surrogate pair as two code points": "\ud83d\ude00",
    "surrogateescape byte (CLI argv)": "Caf\udcc3",
    "NUL": "a\x00b",
    "BEL": "ring \x07 ring",
    "ESC": "\x1b[31mred",
    "DEL": "a\x7fb",
    "lone CR": "a\rb",
    "C1 control NEL inside": "a\x85b",
    "C1 control CSI": "a\x9bb",
    "bidi override RLO": "file\u202etxt.exe",
    "bidi override LRO": "a\u202db",
    "bidi embedding LRE": "a\u202ab",
    "bidi pop PDF": "a\u202cb",
    "bidi isolate LRI": "a\u2066b",
    "bidi isolate PDI": "a\u2069b",
    "empty": "",
    "whitespace only": " \t  ",
    "number": 5,
    "null": None,
    "list": ["Ann"],
    "over-long": "x" * 65,
    # U+0958 is a composition exclusion: NFC turns it into two code points.
    "over-long only after NFC": "\u0958" * 33,
}

REFUSED_ON_ONE_LINE: dict[str, str] = {
    "line feed": "a\nb",
    "tab": "a\tb",
    "left-to-right mark": "a\u200eb",
    "right-to-left mark": "a\u200fb",
    "Arabic letter mark": "a\u061cb",
    "zero-width space": "a\u200bb",
    "zero-width joiner": "a\u200db",
    "soft hyphen": "a\u00adb",
    "byte order mark": "a\ufeffb",
}

ACCEPTED_EVERYWHERE: dict[str, tuple[str, str]] = {
    "plain": ("Ann", "Ann"),
    "trimmed": ("  Ann \t", "Ann"),
    "combining accent composed": ("Cafe\u0301", "Café"),
    "Hangul jamo composed": ("\u1100\u1161\u11a8", "\uac01"),
    "Angstrom sign to A with ring": ("\u212b", "\u00c5"),
    "64 characters once composed": ("e\u0301" * 64, "é" * 64),
    "astral characters": ("🦊 Fox 😀", "🦊 Fox 😀"),
    "non-Latin scripts": ("Ωμέγα 漢字 עברית العربية", "Ωμέγα 漢字 עברית العربية"),
    "markup is text": ("<b>Ann</b>", "<b>Ann</b>"),
}

ACCEPTED_MULTILINE: dict[str, tuple[str, str]] = {
    "newlines and tabs": ("line 1\n\tline 2", "line 1\n\tline 2"),
    "CRLF to LF": ("one\r\ntwo", "one\ntwo"),
    "emoji with ZWJ": ("👩\u200d💻", "👩\u200d💻"),
    "right-to-left mark": ("שלום \u200f123", "שלום \u200f123"),
}


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize("case", list(REFUSED_EVERYWHERE))
def test_refused_everywhere(case: str, multiline: bool) -> None:
    with pytest.raises(Invalid) as refused:
        clean_text(REFUSED_EVERYWHERE[case], "name", 64, multiline=multiline)
    assert refused.value.reason == "invalid_name"
    assert refused.value.message.startswith("name ")


@pytest.mark.parametrize("case", list(REFUSED_ON_ONE_LINE))
def test_refused_on_one_line(case: str) -> None:
    with pytest.raises(Invalid) as refused:
        clean_text(REFUSED_ON_ONE_LINE[case], "label", 200)
    assert refused.value.reason == "invalid_label"


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize("case", list(ACCEPTED_EVERYWHERE))
def test_accepted_everywhere(case: str, multiline: bool) -> None:
    sent, kept = ACCEPTED_EVERYWHERE[case]
    assert clean_text(sent, "name", 64, multiline=multiline) == kept


@pytest.mark.parametrize("case", list(ACCEPTED_MULTILINE))
def test_accepted_in_multiline_text(case: str) -> None:
    sent, kept = ACCEPTED_MULTILINE[case]
    assert clean_text(sent, "body", 100, multiline=True) == kept


def test_messages_say_what_is_wrong() -> None:
    def message(value: object) -> str:
        with pytest.raises(Invalid) as refused:
            clean_text(value, "title", 200)
        return refused.value.message

    assert message("a\ud800") == "title must be Unicode text (it holds a lone surrogate)"
    assert message("a\x1b") == "title must not contain control characters"
    assert message("a\u202e") == (
        "title must not contain bidirectional or invisible format characters"
    )
    assert message("x" * 201) == "title must be at most 200 characters"
    assert message("   ") == "title must not be empty"
    assert message(3) == "title must be a string"


BIDI_CONTROLS = {*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}
# Characters around the edges of the rules, so that examples hit them often.
EDGES = st.sampled_from(
    [
        "\ud800",
        "\udfff",
        "\x00",
        "\x1b",
        "\x85",
        "\r",
        "\n",
        "\t",
        " ",
        "\u00a0",
        "\u2028",
        "\u202e",
        "\u2066",
        "\u200e",
        "\u200d",
        "\ufeff",
        "e",
        "\u0301",
        "\u0958",
        "\u212b",
        "\u1100",
        "\u1161",
    ]
)
ANY_TEXT = st.text(alphabet=st.one_of(st.characters(exclude_categories=()), EDGES), max_size=40)


def _clean(value: str, max_length: int, multiline: bool) -> str | Invalid:
    try:
        return clean_text(value, "label", max_length, multiline=multiline)
    except Invalid as refused:
        return refused


@PROPERTY
@given(value=ANY_TEXT, max_length=st.integers(1, 24), multiline=st.booleans())
@example(value="\u0958" * 5, max_length=6, multiline=False)
@example(value="a\r\n", max_length=3, multiline=True)
def test_any_text_is_refused_or_comes_back_clean(
    value: str, max_length: int, multiline: bool
) -> None:
    outcome = _clean(value, max_length, multiline)
    if isinstance(outcome, Invalid):
        assert outcome.reason == "invalid_label"
        assert outcome.message.startswith("label ")
        return
    text = outcome
    assert unicodedata.is_normalized("NFC", text)
    assert 0 < len(text) <= max_length
    assert text == text.strip()
    text.encode("utf-8")  # no lone surrogates
    for ch in text:
        category = unicodedata.category(ch)
        assert category != "Cs"
        assert category != "Cc" or (multiline and ch in "\n\t")
        assert category != "Cf" or (multiline and ch not in BIDI_CONTROLS)
    # What was stored passes again unchanged.
    assert clean_text(text, "label", max_length, multiline=multiline) == text


@pytest.mark.parametrize(
    "value",
    ["k3X-_q9Z", "0123456789abcdef0123456789abcdef", "a" * 64],
)
def test_codes(value: str) -> None:
    assert is_code(value)


@pytest.mark.parametrize(
    "value",
    ["", "a" * 65, "a\ud800", "a\x00", "a b", "a\u202eb", "Cafe\u0301", "é", "a/b", 5, None],
)
def test_not_codes(value: object) -> None:
    assert not is_code(value)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("guide", "guide"),
        ("Cafe\u0301 au lait", "Café au lait"),
        ("e\u0301" * 100, "é" * 100),
        ("a\ud800", None),
        ("a\x00", None),
        ("a\u202eb", None),
        ("x" * 101, None),
        ("\u0958" * 51, None),
        (" guide", None),
        (5, None),
    ],
)
def test_document_names_are_compared_in_nfc(value: object, name: str | None) -> None:
    assert document_name(value) == name


# The room directory


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def _directory(
    store: MemoryStore, max_documents: int = 0, max_participants: int = 0
) -> RoomDirectory:
    """A directory that reads each room's own cap from the room settings, as the app's."""
    return RoomDirectory(
        store,
        MemoryParticipantStore(store.state),
        max_documents,
        max_participants,
        MemoryThreadStore(store.state),
    )


async def test_a_new_room_has_one_invite_per_role_but_mentor(store: MemoryStore) -> None:
    directory = _directory(store)
    created = await directory.create_room("  Café Reading Group! ")
    room = created.room
    assert room.title == "Café Reading Group!"
    assert room.slug.startswith("cafe-reading-group-") and len(room.slug) == 25
    assert set(created.invites) == set(INVITE_ROLES)
    assert Role.MENTOR not in created.invites
    assert len(set(created.invites.values())) == 3
    assert all(is_code(code) for code in created.invites.values())
    for role, code in created.invites.items():
        invite = await store.get_invite(code)
        assert invite is not None
        assert (invite.room, invite.role, invite.revoked) == (room, role, False)
    assert await directory.room(room.slug) == room
    assert await directory.room("no-such-room") is None
    named = await directory.create_room("Other", slug="chosen")
    assert named.room.slug == "chosen"
    assert (await directory.create_room("!!!")).room.slug.startswith("room-")
    for title in ("", "   ", "x" * 201, "a\x00b"):
        with pytest.raises(Invalid) as refused:
            await directory.create_room(title)
        assert refused.value.reason == "invalid_title"


async def test_joining_gives_the_role_of_the_invite(store: MemoryStore) -> None:
    directory = _directory(store)
    created = await directory.create_room("Room")
    for role in INVITE_ROLES:
        participant, room = await directory.join(created.invites[role], f"  {role.label} ")
        assert room == created.room
        assert (participant.role, participant.name, participant.room_id) == (
            role,
            role.label,
            room.id,
        )
        assert participant.removed is False
        assert is_code(participant.id)
    ids = [
        p.id for p in await MemoryParticipantStore(store.state).list_participants(created.room.id)
    ]
    assert len(set(ids)) == 3


async def test_joining_needs_a_live_invite_and_a_name(store: MemoryStore) -> None:
    directory = _directory(store)
    created = await directory.create_room("Room")
    member_code = created.invites[Role.MEMBER]
    await MemoryControlStore(store.state).rotate_invite(created.room.id, Role.MEMBER, "fresh")
    cases: list[tuple[str, str, type[Refused], str]] = [
        ("not a code", "Ann", Invalid, "invalid_invite"),
        ("", "Ann", Invalid, "invalid_invite"),
        ("unknown", "Ann", NotFound, "unknown_invite"),
        (member_code, "Ann", NotFound, "unknown_invite"),
        ("fresh", "", Invalid, "invalid_name"),
        ("fresh", "x" * 65, Invalid, "invalid_name"),
        ("fresh", "Ann\u202e", Invalid, "invalid_name"),
    ]
    for code, name, kind, reason in cases:
        with pytest.raises(kind) as refused:
            await directory.join(code, name)
        assert refused.value.reason == reason, (code, name)
    assert store.state.participants == {}
    participant, _ = await directory.join("fresh", "Ann")
    assert participant.role is Role.MEMBER


async def test_the_server_cap_counts_members_and_observers_only(store: MemoryStore) -> None:
    directory = _directory(store, max_participants=2)
    created = await directory.create_room("Room")
    assert await directory.participant_cap(created.room) == 2
    await directory.join(created.invites[Role.MEMBER], "Ann")
    await directory.join(created.invites[Role.OBSERVER], "Olive")
    for role in (Role.MEMBER, Role.OBSERVER):
        with pytest.raises(Conflict) as full:
            await directory.join(created.invites[role], "One too many")
        assert full.value.reason == "room_full"
        assert "2 participants at most" in full.value.message
    # Facilitators always get in, so that someone can still run a full room.
    fay, _ = await directory.join(created.invites[Role.FACILITATOR], "Fay")
    assert fay.role is Role.FACILITATOR
    assert len(store.state.participants) == 3


async def test_a_removed_participant_frees_a_seat(store: MemoryStore) -> None:
    directory = _directory(store, max_participants=1)
    created = await directory.create_room("Room")
    ann, _ = await directory.join(created.invites[Role.MEMBER], "Ann")
    with pytest.raises(Conflict):
        await directory.join(created.invites[Role.MEMBER], "Bob")
    await MemoryParticipantStore(store.state).remove_participant(ann.id)
    bob, _ = await directory.join(created.invites[Role.MEMBER], "Bob")
    assert bob.name == "Bob"


async def test_a_rooms_own_cap_overrides_the_servers(store: MemoryStore) -> None:
    directory = _directory(store, max_participants=1)
    threads = MemoryThreadStore(store.state)
    small, large = (await directory.create_room("Small"), await directory.create_room("Large"))
    await threads.update_room_settings(small.room.id, RoomSettings(max_participants=2))
    await threads.update_room_settings(large.room.id, RoomSettings(max_participants=0))
    assert await directory.participant_cap(small.room) == 2
    assert await directory.participant_cap(large.room) == 0
    for name in ("Ann", "Bob"):
        await directory.join(small.invites[Role.MEMBER], name)
    with pytest.raises(Conflict) as full:
        await directory.join(small.invites[Role.MEMBER], "Cy")
    assert full.value.reason == "room_full"
    # 0: no cap at all, whatever the server's default.
    for i in range(5):
        await directory.join(large.invites[Role.MEMBER], f"P{i}")
    # None: the server's default again.
    await threads.update_room_settings(large.room.id, RoomSettings(max_participants=None))
    assert await directory.participant_cap(large.room) == 1
    with pytest.raises(Conflict):
        await directory.join(large.invites[Role.OBSERVER], "Late")


async def test_without_a_settings_source_the_server_cap_holds(store: MemoryStore) -> None:
    directory = RoomDirectory(store, MemoryParticipantStore(store.state), max_participants=1)
    created = await directory.create_room("Room")
    await MemoryThreadStore(store.state).update_room_settings(
        created.room.id, RoomSettings(max_participants=0)
    )
    assert await directory.participant_cap(created.room) == 1


async def test_editors_open_new_documents_and_observers_only_existing_ones(
    store: MemoryStore,
) -> None:
    directory = _directory(store)
    room = (await directory.create_room("Room")).room
    notes = await directory.open_document(room, "Notes", Role.MEMBER)
    assert (notes.name, notes.room_id, notes.locked) == ("Notes", room.id, False)
    assert await directory.open_document(room, "Notes", Role.OBSERVER) == notes
    assert await directory.open_document(room, "Notes", Role.FACILITATOR) == notes
    with pytest.raises(Forbidden) as refused:
        await directory.open_document(room, "Fresh", Role.OBSERVER)
    assert refused.value.reason == "forbidden"
    guide = await directory.open_document(room, "Guide", Role.FACILITATOR)
    assert [d.name for d in await directory.documents(room)] == ["Notes", "Guide"]
    assert await directory.find_document(room, "Guide") == guide
    assert await directory.find_document(room, "Fresh") is None
    other = (await directory.create_room("Other")).room
    assert await directory.find_document(other, "Notes") is None
    assert await directory.documents(other) == []


async def test_document_names_are_checked_and_found_in_nfc(store: MemoryStore) -> None:
    directory = _directory(store)
    room = (await directory.create_room("Room")).room
    cafe = await directory.open_document(room, "Caf\u00e9", Role.MEMBER)
    assert await directory.open_document(room, "Cafe\u0301", Role.MEMBER) == cafe
    assert await directory.find_document(room, "Cafe\u0301") == cafe
    for name in ("", " lead", "../x", "x" * 101, "a\u202eb"):
        with pytest.raises(Invalid) as refused:
            await directory.open_document(room, name, Role.MEMBER)
        assert refused.value.reason == "invalid_document_name"
        with pytest.raises(Invalid):
            await directory.find_document(room, name)
    assert len(await directory.documents(room)) == 1


async def test_a_full_room_opens_its_documents_but_makes_no_more(store: MemoryStore) -> None:
    directory = _directory(store, max_documents=2)
    room = (await directory.create_room("Room")).room
    one = await directory.open_document(room, "One", Role.MEMBER)
    await directory.open_document(room, "Two", Role.MEMBER)
    with pytest.raises(Conflict) as full:
        await directory.open_document(room, "Three", Role.FACILITATOR)
    assert full.value.reason == "too_many_documents"
    assert "at most 2 documents" in full.value.message
    assert await directory.open_document(room, "One", Role.MEMBER) == one
    # The limit is per room.
    other = (await directory.create_room("Other")).room
    assert (await directory.open_document(other, "Three", Role.MEMBER)).name == "Three"
