"""Yjs bytes for tests: lib0 varuints (pycrdt's encoder), typed updates, stored text."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Text, write_var_uint

from crdt.document import SyncDocument
from rooms.records import StoredDocument


def var(*values: int) -> bytes:
    """The lib0 varuints of ``values``, one after another."""
    return b"".join(write_var_uint(value) for value in values)


def keystrokes(content: str, client_id: int | None = None) -> list[bytes]:
    """One update per character, as an editor typing ``content`` at the end of the Y.Text
    ``content`` emits them."""
    doc: Doc[Any] = Doc(client_id=client_id)
    ytext = doc.get("content", type=Text)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    for char in content:
        ytext += char
    doc.unobserve(subscription)
    assert len(updates) == len(content)
    return updates


def text_of(stored: StoredDocument) -> str:
    """The Y.Text ``content`` of a stored document (snapshot and log)."""
    return str(SyncDocument(stored.snapshot, stored.updates).ydoc.get("content", type=Text))
