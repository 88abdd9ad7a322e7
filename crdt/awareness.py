"""Awareness (presence and cursors) for one document, as the server relays it.

Wraps pycrdt's :class:`~pycrdt.Awareness` with what a relay needs: strict validation
of untrusted updates, a cap on one client's state, and a record of which awareness
clients each connection controls, so that their states can be removed when the
connection goes away.
"""

from __future__ import annotations

import json
import time
from collections.abc import Container, Hashable
from dataclasses import dataclass
from typing import Any

from pycrdt import Awareness, Doc, write_var_uint

from crdt.protocol import ProtocolError, Reader


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state: dict[str, Any] | None


class AwarenessTooLarge(ProtocolError):
    """One client's awareness state exceeds the configured cap."""


def parse_awareness_update(payload: bytes, max_state_bytes: int) -> list[AwarenessEntry]:
    """Strictly decode an awareness update, or raise :class:`ProtocolError`."""
    reader = Reader(payload)
    count = reader.var_uint()
    entries: list[AwarenessEntry] = []
    for _ in range(count):
        client_id = reader.var_uint()
        clock = reader.var_uint()
        raw = reader.var_bytes()
        if len(raw) > max_state_bytes:
            raise AwarenessTooLarge(
                f"awareness state of {len(raw)} bytes exceeds the cap of {max_state_bytes}"
            )
        state = _parse_state(raw)
        if state is not None and not isinstance(state, dict):
            raise ProtocolError("awareness state must be a JSON object or null")
        entries.append(AwarenessEntry(client_id, clock, state))
    if not reader.exhausted:
        raise ProtocolError("trailing bytes after awareness update")
    return entries


def encode_awareness_update(entries: list[AwarenessEntry]) -> bytes:
    """The awareness update carrying ``entries`` (a None state removes a client)."""
    out = [write_var_uint(len(entries))]
    for entry in entries:
        raw = json.dumps(entry.state).encode()
        out += [write_var_uint(entry.client_id), write_var_uint(entry.clock)]
        out += [write_var_uint(len(raw)), raw]
    return b"".join(out)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_state(raw: bytes) -> Any:
    """Parse a state exactly as every JavaScript peer will: strict UTF-8, strict JSON."""
    try:
        # json.loads on bytes would guess UTF-16/32 and accept surrogates; peers do not.
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError("awareness state is not JSON (strict UTF-8)") from exc
    except RecursionError as exc:
        raise ProtocolError("awareness state is nested too deeply") from exc


class DocumentAwareness:
    """The awareness states of every client of one document."""

    def __init__(self, *, max_state_bytes: int = 64 * 1024, outdated_ms: int = 30_000) -> None:
        self._max_state_bytes = max_state_bytes
        self._outdated_ms = outdated_ms
        self._awareness = Awareness(Doc(), outdated_timeout=outdated_ms)
        # The server is a relay, not a participant: it publishes no state of its own.
        self._awareness.set_local_state(None)
        self._owned: dict[Hashable, set[int]] = {}
        self._changed: list[int] = []
        self._awareness.observe(self._on_event)

    def _on_event(self, topic: str, payload: tuple[dict[str, Any], Any]) -> None:
        if topic != "update":
            return
        changes, owner = payload
        self._changed = [*changes["added"], *changes["updated"], *changes["removed"]]
        if owner is None:
            return
        owned = self._owned.setdefault(owner, set())
        owned.update(changes["added"], changes["updated"])
        owned.difference_update(changes["removed"])

    @property
    def states(self) -> dict[int, dict[str, Any]]:
        return self._awareness.states

    def client_ids(self, payload: bytes) -> list[int]:
        """The client ids an untrusted update speaks for. Raises :class:`ProtocolError`
        for a malformed or oversized update."""
        return [entry.client_id for entry in parse_awareness_update(payload, self._max_state_bytes)]

    def apply(
        self, payload: bytes, owner: Hashable | None, only: Container[int] | None = None
    ) -> bytes | None:
        """Apply an untrusted awareness update from ``owner`` (None: from another server).

        With ``only``, the entries for other client ids are left out. Returns the
        normalised update to relay to every peer, or None when it changed nothing.
        Raises :class:`ProtocolError` for a malformed or oversized update.
        """
        entries = parse_awareness_update(payload, self._max_state_bytes)
        if only is not None:
            kept = [entry for entry in entries if entry.client_id in only]
            if not kept:
                return None
            if len(kept) < len(entries):
                payload = encode_awareness_update(kept)
        self._changed = []
        try:
            self._awareness.apply_awareness_update(payload, owner)
        except Exception as exc:  # validated above; pycrdt refusing it is still a bad frame
            raise ProtocolError(f"awareness update refused: {exc}") from exc
        if not self._changed:
            return None
        return self._awareness.encode_awareness_update(self._changed)

    def encode_all(self) -> bytes | None:
        """Every known state, for a newcomer; None when there are none."""
        client_ids = list(self.states)
        if not client_ids:
            return None
        return self._awareness.encode_awareness_update(client_ids)

    def encode_owned(self) -> bytes | None:
        """The states of clients some owner (a local connection) controls, or None."""
        client_ids = sorted(
            {c for owned in self._owned.values() for c in owned if c in self.states}
        )
        if not client_ids:
            return None
        return self._awareness.encode_awareness_update(client_ids)

    def remove_owner(self, owner: Hashable) -> bytes | None:
        """Drop the states ``owner`` controlled; return the removal update to relay."""
        client_ids = sorted(self._owned.pop(owner, set()))
        return self._remove(client_ids)

    def remove_outdated(
        self, now_ms: int | None = None, *, keep_owned: bool = False
    ) -> bytes | None:
        """Drop states not renewed within the outdated timeout (clients renew every 15 s).

        With ``keep_owned``, states of clients a local connection controls stay: they
        go when the connection does.
        """
        now = int(time.time() * 1000) if now_ms is None else now_ms
        meta = self._awareness.meta
        owned = {c for ids in self._owned.values() for c in ids} if keep_owned else set()
        stale = [
            client_id
            for client_id in self.states
            if client_id not in owned
            and now - meta.get(client_id, {}).get("lastUpdated", now) >= self._outdated_ms
        ]
        for owned in self._owned.values():
            owned.difference_update(stale)
        return self._remove(stale)

    def _remove(self, client_ids: list[int]) -> bytes | None:
        present = [c for c in client_ids if c in self.states]
        if not present:
            return None
        self._awareness.remove_awareness_states(present, None)
        return self._awareness.encode_awareness_update(present)
