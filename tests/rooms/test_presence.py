"""The roster: one row per participant merged from their connections, the states
active, idle and away, and rosters shared between processes (a :class:`MemoryBus`).

Roster changes reach watchers on the next turns of the event loop; tests wait for
them on an event, with a timeout, never with a fixed sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import rooms.presence
from rooms.live.broker import Broker, LocalBroker, MemoryBus
from rooms.live.envelope import EVERYONE, Envelope, Kind
from rooms.presence import (
    COLOURS,
    Presence,
    Roster,
    colour_for,
    colour_of,
    least_used_colour,
    merge,
    presence_channel,
)
from tests.support.timing import timeout

ROOM = 7
Row = dict[str, Any]


def _ann(**fields: Any) -> Presence:
    return Presence(**{"participant_id": "ann", "name": "Ann", "role": "member", **fields})


def _summary(rows: list[Row]) -> list[tuple[str, str, str | None, int]]:
    return [(r["name"], r["state"], r["document"], r["connections"]) for r in rows]


class Watcher:
    """A roster callback that keeps what it was given and lets a test wait for a roster."""

    def __init__(self) -> None:
        self.seen: list[list[Row]] = []
        self._changed = asyncio.Event()

    def __call__(self, roster: list[Row]) -> None:
        self.seen.append(roster)
        self._changed.set()

    async def until(self, wanted: Callable[[list[Row]], bool], what: str) -> list[Row]:
        try:
            async with asyncio.timeout(timeout()):
                while not (self.seen and wanted(self.seen[-1])):
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"no roster with {what}; last: {self.seen[-1:]}") from None
        return self.seen[-1]


@pytest.fixture
async def rosters() -> AsyncIterator[Callable[..., Roster]]:
    """Makes rosters, closed at the end of the test."""
    made: list[Roster] = []

    def make(broker: Broker | None = None, **settings: float) -> Roster:
        roster = Roster(LocalBroker() if broker is None else broker, **settings)
        made.append(roster)
        return roster

    yield make
    for roster in made:
        await roster.close()


# Merging connections into rows


def test_a_participants_connections_merge_into_one_row() -> None:
    rows = merge(
        [
            _ann(document="Guide", state="idle", changed_at=3.0, following="bob", since=5.0),
            _ann(document="Notes", state="active", changed_at=1.0, since=4.0),
            _ann(document=None, state="away", changed_at=2.0, spotlight_opt_out=True),
        ]
    )
    assert rows == [
        {
            "id": "ann",
            "name": "Ann",
            "role": "member",
            "colour": colour_of("ann"),
            # Where she is active counts, not the tabs gone idle or away.
            "document": "Notes",
            "state": "active",
            # The rest comes from the connection that changed last.
            "following": "bob",
            "spotlight_opt_out": False,
            "connections": 3,
            # Here since their earliest connection open now (one does not say).
            "since": 4.0,
        }
    ]


def test_among_equally_lively_connections_the_latest_wins() -> None:
    rows = merge(
        [
            _ann(document="Old", state="idle", changed_at=1.0),
            _ann(document="New", state="idle", changed_at=2.0, name="Ann B."),
            _ann(document="Gone", state="away", changed_at=3.0),
            _ann(document="Odd", state="dozing", changed_at=4.0),
        ]
    )
    assert _summary(rows) == [("Ann", "idle", "New", 4)]
    only_odd = merge([_ann(state="dozing", document="Odd"), _ann(state="away", document="Away")])
    assert _summary(only_odd) == [("Ann", "away", "Away", 2)]


def test_rows_are_sorted_by_name_then_id() -> None:
    people = [
        Presence("b2", "bob", "member"),
        Presence("z", "Zoe", "observer"),
        Presence("b1", "Bob", "member"),
        Presence("a", "ann", "facilitator"),
    ]
    rows = merge(people)
    assert [(r["name"], r["id"]) for r in rows] == [
        ("ann", "a"),
        ("Bob", "b1"),
        ("bob", "b2"),
        ("Zoe", "z"),
    ]
    assert merge([]) == []


def test_colours_are_stable_per_participant() -> None:
    colours = {colour_of(f"participant-{i}") for i in range(200)}
    assert colours == set(COLOURS)
    assert colour_of("ann") == colour_of("ann")


def test_a_stored_colour_wins_and_none_falls_back_to_the_hashed_one() -> None:
    assert [colour_for("ann", i) for i in range(len(COLOURS))] == list(COLOURS)
    assert colour_for("ann", None) == colour_of("ann")
    assert colour_for("ann", len(COLOURS)) == colour_of("ann")
    assert least_used_colour([]) == 0
    assert least_used_colour([0, 1, None, 3]) == 2
    assert least_used_colour([*range(len(COLOURS)), 0, 1, 3]) == 2


def test_the_roster_shows_the_colour_presence_carries() -> None:
    """Presence carries the stored colour; an entry without one (from a process of an
    older version) shows the hashed colour."""
    stored = next(c for c in COLOURS if c != colour_of("ann"))
    rows = merge([_ann(colour=stored, changed_at=1.0), _ann(changed_at=2.0)])
    assert [r["colour"] for r in rows] == [stored]
    assert [r["colour"] for r in merge([_ann()])] == [colour_of("ann")]


# One process


async def test_connections_enter_change_and_leave(rosters: Callable[..., Roster]) -> None:
    roster = rosters()
    assert roster.roster(ROOM) == []
    assert await roster.enter(ROOM, "tab-1", _ann(document="Guide")) is True
    assert await roster.enter(ROOM, "tab-2", _ann(document="Notes", state="idle")) is False
    assert await roster.enter(ROOM, "bob-1", Presence("bob", "Bob", "member")) is True
    assert _summary(roster.roster(ROOM)) == [
        ("Ann", "active", "Guide", 2),
        ("Bob", "active", None, 1),
    ]
    assert sorted(roster.local_connections(ROOM, "ann")) == ["tab-1", "tab-2"]
    assert roster.local_connections(ROOM + 1, "ann") == []

    roster.update(ROOM, "tab-1", state="away")
    roster.update(ROOM, "tab-2", state="active")
    assert _summary(roster.roster(ROOM))[0] == ("Ann", "active", "Notes", 2)
    roster.update(ROOM, "nobody", state="idle")
    roster.update(ROOM + 1, "tab-1", state="idle")

    assert await roster.leave(ROOM, "tab-2") is False
    assert _summary(roster.roster(ROOM))[0] == ("Ann", "away", "Guide", 1)
    assert await roster.leave(ROOM, "tab-2") is False
    assert await roster.leave(ROOM, "tab-1") is True
    assert await roster.leave(ROOM, "bob-1") is True
    assert roster.roster(ROOM) == []


class FakeClock:
    """The ``time`` module as rooms.presence alone sees it (asyncio keeps the real one):
    ``time()`` one second later at every reading, ``monotonic()`` moved by hand."""

    def __init__(self) -> None:
        self._seconds = itertools.count(1000)
        self.now = 5000.0

    def time(self) -> float:
        return float(next(self._seconds))

    def monotonic(self) -> float:
        return self.now


async def test_an_update_stamps_the_change(
    rosters: Callable[..., Roster], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rooms.presence, "time", FakeClock())
    roster = rosters()
    await roster.enter(ROOM, "tab-1", _ann(document="Guide", changed_at=0.0))
    await roster.enter(ROOM, "tab-2", _ann(document="Notes", changed_at=0.0))
    # Both active: the one changed last decides where Ann is.
    roster.update(ROOM, "tab-1", following="bob")
    assert roster.roster(ROOM)[0]["document"] == "Guide"
    assert roster.roster(ROOM)[0]["following"] == "bob"
    roster.update(ROOM, "tab-2", spotlight_opt_out=True)
    assert roster.roster(ROOM)[0]["document"] == "Notes"
    assert roster.roster(ROOM)[0]["following"] is None
    assert roster.roster(ROOM)[0]["spotlight_opt_out"] is True


async def test_watchers_hear_each_change(rosters: Callable[..., Roster]) -> None:
    roster = rosters()
    watcher = Watcher()
    unwatch = await roster.watch(ROOM, watcher)
    await roster.enter(ROOM, "tab-1", _ann())
    await watcher.until(lambda r: _summary(r) == [("Ann", "active", None, 1)], "Ann active")
    roster.update(ROOM, "tab-1", state="idle", document="Guide")
    await watcher.until(lambda r: _summary(r) == [("Ann", "idle", "Guide", 1)], "Ann idle")
    await roster.leave(ROOM, "tab-1")
    await watcher.until(lambda r: r == [], "nobody")

    await unwatch()
    heard = len(watcher.seen)
    await roster.enter(ROOM, "tab-2", _ann())
    # Another watcher hears the change: the unwatched one must have heard it by then too.
    other = Watcher()
    await roster.watch(ROOM, other)
    roster.update(ROOM, "tab-2", state="away")
    await other.until(lambda r: _summary(r) == [("Ann", "away", None, 1)], "Ann away")
    assert len(watcher.seen) == heard


async def test_a_failing_watcher_does_not_stop_the_others(
    rosters: Callable[..., Roster], caplog: pytest.LogCaptureFixture
) -> None:
    roster = rosters()

    def broken(_: list[Row]) -> None:
        raise RuntimeError("boom")

    await roster.watch(ROOM, broken)
    watcher = Watcher()
    await roster.watch(ROOM, watcher)
    await roster.enter(ROOM, "tab-1", _ann())
    await watcher.until(lambda r: len(r) == 1, "Ann")
    assert "a roster watcher failed" in caplog.text


# Several processes


async def test_processes_share_their_rosters(rosters: Callable[..., Roster]) -> None:
    bus = MemoryBus()
    a, b = rosters(bus.broker()), rosters(bus.broker())
    await a.enter(ROOM, "a-1", _ann(document="Guide"))
    # B asks who is here when it starts listening, and A answers.
    watcher = Watcher()
    await b.watch(ROOM, watcher)
    await watcher.until(lambda r: _summary(r) == [("Ann", "active", "Guide", 1)], "A's Ann")
    # Ann's second tab, served by B: one row with two connections, on both processes.
    await b.enter(ROOM, "b-1", _ann(document="Notes", state="idle"))
    on_a = Watcher()
    await a.watch(ROOM, on_a)
    two_tabs = [("Ann", "active", "Guide", 2)]
    await on_a.until(lambda r: _summary(r) == two_tabs, "both tabs on A")
    assert _summary(b.roster(ROOM)) == two_tabs

    # A stops cleanly: it says it holds nobody any more.
    await a.close()
    await watcher.until(lambda r: _summary(r) == [("Ann", "idle", "Notes", 1)], "A gone")


async def test_a_silent_process_drops_out_after_the_timeout(
    rosters: Callable[..., Roster],
) -> None:
    bus = MemoryBus()
    broker_a = bus.broker()
    a = rosters(broker_a, heartbeat_seconds=0.01, timeout_seconds=0.05)
    b = rosters(bus.broker(), heartbeat_seconds=0.01, timeout_seconds=0.05)
    await b.enter(ROOM, "b-1", Presence("bob", "Bob", "member"))
    await a.enter(ROOM, "a-1", _ann())
    watcher = Watcher()
    await b.watch(ROOM, watcher)
    await watcher.until(lambda r: [x["name"] for x in r] == ["Ann", "Bob"], "Ann from A")
    broker_a.connected = False  # A died: no heartbeat, no goodbye
    await watcher.until(lambda r: [x["name"] for x in r] == ["Bob"], "Ann timed out")


async def test_a_silent_process_is_not_shown_once_its_time_is_up(
    rosters: Callable[..., Roster], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between two sweeps, reading the roster already leaves out what expired."""
    clock = FakeClock()
    monkeypatch.setattr(rooms.presence, "time", clock)
    bus = MemoryBus()
    broker_a = bus.broker()
    a, b = rosters(broker_a), rosters(bus.broker(), timeout_seconds=30.0)
    await a.enter(ROOM, "a-1", _ann())
    watcher = Watcher()
    await b.watch(ROOM, watcher)
    await watcher.until(lambda r: len(r) == 1, "Ann from A")
    broker_a.connected = False
    clock.now += 29.9
    assert _summary(b.roster(ROOM)) == [("Ann", "active", None, 1)]
    clock.now += 0.2
    assert b.roster(ROOM) == []


async def test_malformed_presence_messages_are_dropped(
    rosters: Callable[..., Roster], caplog: pytest.LogCaptureFixture
) -> None:
    bus = MemoryBus()
    roster = rosters(bus.broker())
    watcher = Watcher()
    await roster.watch(ROOM, watcher)
    await roster.enter(ROOM, "tab-1", _ann())
    await watcher.until(lambda r: len(r) == 1, "Ann")
    bus.broker().publish(presence_channel(ROOM), b"\xff not an envelope")
    # A marker after the junk: once it arrives, the junk was handled.
    other = rosters(bus.broker())
    await other.enter(ROOM, "tab-2", Presence("bob", "Bob", "member"))
    await watcher.until(lambda r: len(r) == 2, "Bob from the other process")
    assert _summary(roster.roster(ROOM)) == [
        ("Ann", "active", None, 1),
        ("Bob", "active", None, 1),
    ]
    assert "dropped a presence message" in caplog.text


async def test_presence_from_another_version_with_other_fields_is_taken(
    rosters: Callable[..., Roster],
) -> None:
    """A process running a newer version may send fields this one does not know (and
    an older one leaves out ``since``): the entries are taken, the rest ignored."""
    bus = MemoryBus()
    roster = rosters(bus.broker())
    watcher = Watcher()
    await roster.watch(ROOM, watcher)
    entries = [
        {"participant_id": "bob", "name": "Bob", "role": "member", "mood": "curious"},
        {"participant_id": "cy", "name": "Cy", "role": "member", "since": 12.5},
    ]
    origin = bytes(range(16))
    envelope = Envelope(Kind.PRESENCE, origin, EVERYONE, json.dumps(entries).encode())
    bus.broker().publish(presence_channel(ROOM), envelope.encode())
    await watcher.until(lambda r: len(r) == 2, "Bob and Cy from the other process")
    assert {r["name"]: r["since"] for r in roster.roster(ROOM)} == {"Bob": None, "Cy": 12.5}


async def test_known_roster_reads_a_room_not_watched(rosters: Callable[..., Roster]) -> None:
    roster = rosters()
    assert await roster.known_roster(ROOM) == []
    await roster.enter(ROOM, "tab-1", _ann())
    assert _summary(await roster.known_roster(ROOM)) == [("Ann", "active", None, 1)]
