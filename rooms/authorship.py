"""Who wrote what: the owners of a document's Yjs client ids, and version comparisons
with every change attributed to a person.

Each client id of a document belongs to the participant who first used it there (the
ownership rule of ``rooms/live/session.py``, kept in ``document_clients``), so any text
can be attributed from the id of its items (``crdt/authorship.py``). Text whose client id
has no owner (written by the server before authorship was kept) has no author.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from crdt.authorship import Change, ChangedBlock, blocks, compare
from rooms.accounts import FORMER_PARTICIPANT
from rooms.comment_views import Viewer
from rooms.control_records import VersionInfo
from rooms.controls import Controls
from rooms.ports import ParticipantStore, Store
from rooms.presence import colour_for
from rooms.records import Room


@dataclass(frozen=True, slots=True)
class Person:
    participant_id: str
    name: str
    colour: str


@dataclass(frozen=True, slots=True)
class Authors:
    # Yjs client id -> participant id.
    clients: dict[int, str]
    people: list[Person]


@dataclass(frozen=True, slots=True)
class AttributedRun:
    text: str
    change: Change
    # The participant who wrote the text (for removed text too), or None.
    author: str | None


@dataclass(frozen=True, slots=True)
class DiffBlock:
    tag: str
    level: int | None
    path: tuple[str, ...]
    change: Change
    runs: list[AttributedRun]


@dataclass(frozen=True, slots=True)
class Contribution:
    person: Person
    added: int
    removed: int


@dataclass(frozen=True, slots=True)
class VersionDiff:
    document: str
    old: VersionInfo
    # None: the current content.
    new: VersionInfo | None
    blocks: list[DiffBlock]
    people: list[Contribution]


class Authorship:
    def __init__(self, controls: Controls, store: Store, participants: ParticipantStore) -> None:
        self._controls = controls
        self._store = store
        self._participants = participants

    async def authors(self, room: Room, name: str, viewer: Viewer) -> Authors:
        """The owner of every client id that wrote in the document ``name``."""
        info = await self._controls.document(room, name, viewer)
        clients = await self._store.document_authors(info.id)
        people = await self._people(room, set(clients.values()))
        return Authors(clients, sorted(people.values(), key=lambda p: p.name.casefold()))

    async def diff(
        self, room: Room, name: str, viewer: Viewer, old_id: int, new_id: int | None
    ) -> VersionDiff:
        """What changed from version ``old_id`` to version ``new_id`` (None: to the
        current content), each run with its writer."""
        info = await self._controls.document(room, name, viewer)
        old, old_state = await self._controls.version(room, name, old_id, viewer)
        if new_id is None:
            new, new_state = None, await self._controls.current_state(room, info)
        else:
            found, new_state = await self._controls.version(room, name, new_id, viewer)
            new = found
        changed = compare(blocks(old_state), blocks(new_state))
        clients = await self._store.document_authors(info.id)
        diff_blocks = [_attributed(block, clients) for block in changed]
        counts: dict[str, list[int]] = {}
        for block in diff_blocks:
            for run in block.runs:
                if run.author is not None and run.change is not Change.SAME:
                    sums = counts.setdefault(run.author, [0, 0])
                    sums[0 if run.change is Change.ADDED else 1] += len(run.text)
        people = await self._people(room, set(counts))
        contributions = sorted(
            (Contribution(people[pid], *sums) for pid, sums in counts.items()),
            key=lambda c: (-(c.added + c.removed), c.person.name.casefold()),
        )
        return VersionDiff(info.name, old, new, diff_blocks, contributions)

    async def _people(self, room: Room, ids: set[str]) -> dict[str, Person]:
        if not ids:
            return {}
        # The room's people in one read; someone removed since is looked up alone.
        seated = {p.id: p for p in await self._participants.list_participants(room.id)}
        people = {}
        for participant_id in ids:
            found = seated.get(participant_id) or await self._participants.get_participant(
                participant_id
            )
            here = found is not None and found.room_id == room.id
            name = found.name if found is not None and here else FORMER_PARTICIPANT
            colour = colour_for(
                participant_id, found.colour if found is not None and here else None
            )
            people[participant_id] = Person(participant_id, name, colour)
        return people


def _attributed(block: ChangedBlock, clients: dict[int, str]) -> DiffBlock:
    runs = [
        AttributedRun(run.text, run.change, None if run.client is None else clients.get(run.client))
        for run in block.runs
    ]
    # Neighbouring runs of one person and change read as one.
    merged: list[AttributedRun] = []
    for run in runs:
        last = merged[-1] if merged else None
        if last is not None and (last.change, last.author) == (run.change, run.author):
            merged[-1] = AttributedRun(last.text + run.text, run.change, run.author)
        else:
            merged.append(run)
    return DiffBlock(block.tag, block.level, block.path, block.change, merged)


# The comparison as a standalone HTML page

_LIST_TAGS = {"bulletList": "ul", "orderedList": "ol", "taskList": "ul"}
_PALETTE_CSS = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto;
  padding: 0 1rem; color: #1b1b1b; }
ins, del { text-decoration-thickness: 2px; border-radius: 2px; padding: 0 1px; }
ins { text-decoration: underline; }
del { text-decoration: line-through; opacity: .8; }
.people { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem 1rem; }
.swatch { display: inline-block; width: .8em; height: .8em; border-radius: 50%;
  margin-right: .3em; vertical-align: -.05em; }
.block-added { border-left: 3px solid #2ca02c; padding-left: .5rem; }
.block-removed { border-left: 3px solid #d62728; padding-left: .5rem; }
blockquote { border-left: 3px solid #bbb; margin-left: 0; padding-left: 1rem; }
pre { background: #f4f4f4; padding: .5rem; white-space: pre-wrap; }
"""


def diff_page(diff: VersionDiff) -> str:
    """The comparison as a standalone HTML page: added text underlined and removed text
    struck through, each in its writer's colour, with a legend."""
    people = {c.person.participant_id: c.person for c in diff.people}
    colours = sorted({p.colour for p in people.values()})
    css = _PALETTE_CSS + "".join(
        f".p{n} {{ color: {c}; text-decoration-color: {c}; }}\n"
        f".p{n}.swatch {{ background: {c}; }}\n"
        for n, c in enumerate(colours)
    )
    css_class = {pid: f"p{colours.index(p.colour)}" for pid, p in people.items()}
    new_name = diff.new.name if diff.new is not None else "the current document"
    title = f"{diff.document}: “{diff.old.name}” compared with {new_name}"
    legend = "".join(
        f'<li><span class="swatch {css_class[c.person.participant_id]}"></span>'
        f"{html.escape(c.person.name)}: +{c.added} &minus;{c.removed}</li>"
        for c in diff.people
    )
    body = _html_body(diff.blocks, css_class, people)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        "<p>Added text is underlined and removed text struck through, in the colour of "
        "the person who wrote it.</p>\n"
        f'<ul class="people">{legend}</ul>\n<hr>\n{body}\n</body>\n</html>\n'
    )


def _html_body(
    diff_blocks: list[DiffBlock], css_class: dict[str, str], people: dict[str, Person]
) -> str:
    out: list[str] = []
    for block in diff_blocks:
        inline = "".join(_html_run(run, css_class, people) for run in block.runs)
        tag = "p"
        if block.tag == "heading":
            tag = f"h{min(max(block.level or 1, 1), 6)}"
        elif block.tag == "codeBlock":
            inline, tag = f"<code>{inline}</code>", "pre"
        elif block.tag == "horizontalRule":
            out.append("<hr>")
            continue
        depth = sum(1 for p in block.path if p in _LIST_TAGS)
        marker = "• " * (depth > 0)
        quoted = "blockquote" in block.path
        change = f' class="block-{block.change}"' if block.change in ("added", "removed") else ""
        element = f"<{tag}{change}>{marker}{inline}</{tag}>"
        if depth > 1:
            element = f'<div style="margin-left:{(depth - 1) * 1.5}rem">{element}</div>'
        out.append(f"<blockquote>{element}</blockquote>" if quoted else element)
    return "\n".join(out)


def _html_run(run: AttributedRun, css_class: dict[str, str], people: dict[str, Person]) -> str:
    text = html.escape(run.text).replace("\n", "<br>")
    if run.change is Change.SAME:
        return text
    tag = "ins" if run.change is Change.ADDED else "del"
    if run.author is None or run.author not in people:
        return f'<{tag} title="Unknown author">{text}</{tag}>'
    name = html.escape(people[run.author].name, quote=True)
    return f'<{tag} class="{css_class[run.author]}" title="{name}">{text}</{tag}>'
