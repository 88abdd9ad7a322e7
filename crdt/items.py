"""Where a document's items live, and in which order an update's structs can go in.

Yjs does not write an item's parent when the item has an origin: the parent is the
origin's (or else the right origin's). :class:`ItemIndex` remembers the parent of every
integrated item as runs of clocks per client, so an incoming item's two origins can be
checked to lie in one parent without asking the CRDT core, which does not tell.

:func:`plan` orders an update's structs so that each comes after what it refers to (its
client's previous clock, its origins, its parent), as the CRDT core integrates them, and
reports the first dependency neither the document nor the update holds.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from dataclasses import dataclass, field

from crdt.update import ID, MAX_CLOCK, Content, Struct, Update

log = logging.getLogger("roundtable.crdt")

# Which sequence an item belongs to: ("root", name, key) for a root type, ("type",
# client, clock, key) for a nested type held by item (client, clock); key is the map key
# or None. GONE: the item is garbage collected (its parent was deleted).
ParentKey = tuple[object, ...]
GONE: ParentKey = ("gone",)


class InvalidStructs(ValueError):
    """An update whose structs no honest Yjs client writes."""


@dataclass(slots=True)
class _Runs:
    """One client's integrated clocks: ``keys[i]`` from ``starts[i]`` up to the next
    start (the last run up to ``next``)."""

    starts: list[int] = field(default_factory=list)
    keys: list[ParentKey] = field(default_factory=list)
    next: int = 0

    def key_at(self, clock: int) -> ParentKey:
        return self.keys[bisect_right(self.starts, clock) - 1]


class ItemIndex:
    """The parent of each integrated item, and the items that hold shared types."""

    __slots__ = ("_deleted", "_deleted_types", "_interned", "_runs", "_types")

    def __init__(self) -> None:
        self._runs: dict[int, _Runs] = {}
        # Clocks of the items holding a shared type, by client, in order.
        self._types: dict[int, list[int]] = {}
        self._interned: dict[ParentKey, ParentKey] = {GONE: GONE}
        # Items the document held as deleted content when it was loaded, by client:
        # sorted (start, end) clock ranges. A collected shared type is one of them.
        self._deleted: dict[int, list[tuple[int, int]]] = {}
        # Items holding a shared type that was deleted: what is inside is collected.
        self._deleted_types: set[ID] = set()

    def next_clock(self, client: int) -> int:
        runs = self._runs.get(client)
        return 0 if runs is None else runs.next

    def has(self, item: ID) -> bool:
        return item[1] < self.next_clock(item[0])

    def parent_of(self, item: ID) -> ParentKey | None:
        """The parent of an integrated item, or None if the document lacks it."""
        runs = self._runs.get(item[0])
        if runs is None or item[1] >= runs.next:
            return None
        return runs.key_at(item[1])

    def is_type(self, item: ID) -> bool:
        clocks = self._types.get(item[0])
        if not clocks:
            return False
        at = bisect_right(clocks, item[1]) - 1
        return at >= 0 and clocks[at] == item[1]

    def note_deleted(self, client: int, clock: int, length: int) -> None:
        """Record a deletion: the shared types among the deleted items lose their
        content (the CRDT core collects it)."""
        for type_clock in self.types_in(client, clock, clock + length):
            self._deleted_types.add((client, type_clock))

    def is_collected(self, item: ID) -> bool:
        """Whether ``item`` lies in a deleted shared type (or was collected when the
        document was loaded): the CRDT core cannot place it any more."""
        key = self.parent_of(item)
        for _ in range(10_000):
            if key is None or key is GONE:
                return True
            if key[0] == "root":
                return False
            holder = key[1], key[2]
            if not isinstance(holder[0], int) or not isinstance(holder[1], int):
                return True
            if (holder[0], holder[1]) in self._deleted_types:
                return True
            key = self.parent_of((holder[0], holder[1]))
        return True

    def root_of(self, item: ID) -> str | None:
        """The name of the root type ``item`` lies in (through the types holding it),
        or None if the document lacks it or it was collected."""
        key = self.parent_of(item)
        # Each step goes to the item holding the type: at most one per nesting level.
        for _ in range(10_000):
            if key is None or key is GONE:
                return None
            if key[0] == "root":
                name = key[1]
                return name if isinstance(name, str) else None
            holder = key[1], key[2]
            if not isinstance(holder[0], int) or not isinstance(holder[1], int):
                return None
            key = self.parent_of((holder[0], holder[1]))
        return None

    def types_in(self, client: int, start: int, end: int) -> list[int]:
        """The clocks in [start, end) of ``client``'s items that hold a shared type."""
        clocks = self._types.get(client)
        if not clocks:
            return []
        return clocks[bisect_right(clocks, start - 1) : bisect_right(clocks, end - 1)]

    def was_deleted(self, item: ID) -> bool:
        """Whether ``item`` was deleted content when the document was loaded."""
        ranges = self._deleted.get(item[0])
        if not ranges:
            return False
        at = bisect_right(ranges, (item[1], MAX_CLOCK)) - 1
        return at >= 0 and ranges[at][0] <= item[1] < ranges[at][1]

    def add(self, struct: Struct, key: ParentKey) -> None:
        """Record a struct the document integrated (the part past what it had)."""
        runs = self._runs.get(struct.client)
        if runs is None:
            runs = self._runs[struct.client] = _Runs()
        start = max(struct.clock, runs.next)
        if struct.last <= start:
            return
        if start != runs.next:
            raise ValueError(f"clock gap for client {struct.client}: {runs.next} to {start}")
        key = self._interned.setdefault(key, key)
        if not runs.keys or runs.keys[-1] is not key:
            runs.starts.append(start)
            runs.keys.append(key)
        runs.next = struct.last
        if struct.content is Content.TYPE:
            self._types.setdefault(struct.client, []).append(struct.clock)

    def add_deleted(self, struct: Struct) -> None:
        self._deleted.setdefault(struct.client, []).append((struct.clock, struct.last))

    def seed(self, clocks: dict[int, int]) -> None:
        """Start from a document's state vector, parents unknown (for ordering only)."""
        for client, clock in clocks.items():
            if clock:
                self._runs[client] = _Runs([0], [GONE], clock)

    def clocks(self) -> dict[int, int]:
        """The state vector the index knows: {client: next clock}."""
        return {client: runs.next for client, runs in self._runs.items() if runs.next}


@dataclass(slots=True)
class Placed:
    """A struct in the order it goes in, with its parent, and whether its origins must
    be checked for order (an item with both a left and a right origin)."""

    struct: Struct
    key: ParentKey
    check_order: bool = False
    # Whether both origins were in the document before the update.
    origins_known: bool = False
    # Whether the left origin is known not to lie left of the right one (they are the
    # same id); otherwise only the document can tell.
    crossed: bool = False


@dataclass(slots=True)
class Plan:
    placed: list[Placed]
    # The ids the update waits for (the first missing one of each blocked client).
    waits_for: list[ID]

    @property
    def ready(self) -> bool:
        return not self.waits_for


def plan(update: Update, index: ItemIndex, *, resolve: bool = True) -> Plan:
    """Order ``update``'s structs after their dependencies; raises InvalidStructs.

    Structs the document has are left out. A struct whose dependency is neither in the
    document nor in the update blocks its client's later structs, and those of clients
    that depend on them; the missing ids are in ``waits_for``. Everything that does not
    wait is in ``placed``, in an order the CRDT core can integrate it.
    """
    return _Planner(update, index, resolve).run()


class _Planner:
    __slots__ = (
        "blocked",
        "blocks",
        "index",
        "placed",
        "placed_keys",
        "pos",
        "reach",
        "resolve",
        "types",
    )

    def __init__(self, update: Update, index: ItemIndex, resolve: bool = True) -> None:
        self.index = index
        # False: order only (every struct's parent is left as GONE, nothing is checked).
        self.resolve = resolve
        self.blocks = {block.client: block.structs for block in update.blocks}
        self.pos = dict.fromkeys(self.blocks, 0)
        self.reach = {client: index.next_clock(client) for client in self.blocks}
        # Structs placed by this plan, by client: (start clocks, keys).
        self.placed_keys: dict[int, _Runs] = {}
        self.types: set[ID] = set()
        self.placed: list[Placed] = []
        self.blocked: dict[int, ID] = {}

    def run(self) -> Plan:
        if len(self.blocks) == 1:
            # One client's structs (what a typing client sends): nothing else in the
            # update can provide what they lack.
            (client,) = self.blocks
            needed = self._advance(client)
            return Plan(self.placed, [] if needed is None else [needed])
        for client in self.blocks:
            if client in self.blocked or self.pos[client] == len(self.blocks[client]):
                continue
            # Clients waiting on the one above them, each with the number of structs
            # placed when it last tried to go on.
            stack = [client]
            tried = {client: -1}
            while stack:
                current = stack[-1]
                tried[current] = len(self.placed)
                needed = self._advance(current)
                if needed is None:
                    stack.pop()
                    del tried[current]
                    continue
                provider = needed[0]
                structs = self.blocks.get(provider)
                can_provide = (
                    structs is not None
                    and provider != current
                    and provider not in self.blocked
                    and self.pos[provider] < len(structs)
                    and structs[-1].last > needed[1]
                )
                if can_provide and provider in tried:
                    if tried[provider] == len(self.placed):
                        raise InvalidStructs("structs that depend on each other in a cycle")
                    # Something was placed since it last tried: back to it.
                    while stack[-1] != provider:
                        del tried[stack.pop()]
                    continue
                if can_provide:
                    stack.append(provider)
                    continue
                # Missing from the document and the update: this client and every
                # client waiting on it stop here.
                for waiting in stack:
                    self.blocked.setdefault(waiting, needed)
                stack.clear()
        return Plan(self.placed, list(dict.fromkeys(self.blocked.values())))

    def _reach(self, client: int) -> int:
        reach = self.reach.get(client)
        return self.index.next_clock(client) if reach is None else reach

    def _available(self, item: ID) -> bool:
        return item[1] < self._reach(item[0])

    def _key_of(self, item: ID) -> ParentKey:
        key = self.index.parent_of(item)
        if key is not None:
            return key
        return self.placed_keys[item[0]].key_at(item[1])

    def _advance(self, client: int) -> ID | None:
        """Place ``client``'s structs until done (None) or one needs a missing id."""
        structs = self.blocks[client]
        while self.pos[client] < len(structs):
            struct = structs[self.pos[client]]
            reach = self.reach[client]
            if struct.content is Content.SKIP or struct.last <= reach:
                self.pos[client] += 1
                continue
            if struct.clock > reach:
                return (client, struct.clock - 1)
            for needed in (struct.origin, struct.right, struct.parent):
                if isinstance(needed, tuple) and not self._available(needed):
                    return needed
            self._place(struct)
            self.pos[client] += 1
        return None

    def _place(self, struct: Struct) -> None:
        placed = self._resolve(struct) if self.resolve else Placed(struct, GONE)
        self.placed.append(placed)
        if struct.length == 0:
            return
        runs = self.placed_keys.get(struct.client)
        if runs is None:
            runs = self.placed_keys[struct.client] = _Runs()
        runs.starts.append(max(struct.clock, self.reach[struct.client]))
        runs.keys.append(placed.key)
        self.reach[struct.client] = struct.last
        if struct.content is Content.TYPE:
            self.types.add((struct.client, struct.clock))

    def _resolve(self, struct: Struct) -> Placed:
        if struct.content is Content.GC:
            return Placed(struct, GONE)
        parent = struct.parent
        if isinstance(parent, str):
            return Placed(struct, ("root", parent, struct.parent_sub))
        if parent is not None:
            if self._key_of(parent) is GONE:
                return Placed(struct, GONE)
            if parent in self.types or self.index.is_type(parent):
                return Placed(struct, ("type", *parent, struct.parent_sub))
            # A shared type that was deleted and collected before the document was
            # loaded: the item goes in deleted (yrs) or collected (Yjs).
            if self.index.was_deleted(parent):
                return Placed(struct, GONE)
            raise InvalidStructs("an item whose parent is not a shared type")
        origin, right = struct.origin, struct.right
        if origin is not None and right is not None:
            left_key, right_key = self._key_of(origin), self._key_of(right)
            if left_key is GONE or right_key is GONE:
                return Placed(struct, GONE)
            if left_key != right_key:
                raise InvalidStructs("an item whose origins lie in different parents")
            known = self.index.has(origin) and self.index.has(right)
            return Placed(
                struct, left_key, check_order=True, origins_known=known, crossed=origin == right
            )
        assert origin is not None or right is not None
        return Placed(struct, self._key_of(origin if origin is not None else right))  # type: ignore[arg-type]


def deletes_wait_for(update: Update, index: ItemIndex, plan: Plan) -> list[ID]:
    """The ids the update's delete set names that neither the document nor the update
    holds (the last clock of each such range)."""
    reach: dict[int, int] = {}
    for placed in plan.placed:
        struct = placed.struct
        if struct.length:
            reach[struct.client] = max(reach.get(struct.client, 0), struct.last)
    missing: list[ID] = []
    for client, clock, length in update.deletes:
        if clock + length > max(reach.get(client, 0), index.next_clock(client)):
            missing.append((client, clock + length - 1))
    return missing


def index_of_state(update: Update) -> ItemIndex:
    """The index of a whole document's encoded state (structs that wait are left out)."""
    index = ItemIndex()
    planner = _Planner(update, index)
    try:
        planner.run()
    except InvalidStructs:
        # The document's own state: every struct in it was integrated, so this is a
        # bug here, not in the document. Index what could be placed.
        log.exception("could not index a document's state")
    for placed in planner.placed:
        index.add(placed.struct, placed.key)
        if placed.struct.content is Content.DELETED:
            index.add_deleted(placed.struct)
    for client, clock, length in update.deletes:
        index.note_deleted(client, clock, length)
    return index
