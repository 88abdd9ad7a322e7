"""Canaries for an upstream yrs bug: a pending struct is dropped when its gap fills.

These tests pass while the bug is present in the installed pycrdt (0.14.13, yrs 0.28.0)
and fail once a pycrdt release changes that behaviour. The report for the y-crdt
maintainers, with the same bytes, is docs/yrs-pending-updates.md.

Only plain pycrdt is used here: no Roundtable code.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

from pycrdt import Doc, Text

# The minimal reproducer. Client 1 types "a", then "b" after it, then in one
# transaction "c" at the start and "d" at the end: the text is "cabd".
A = bytes.fromhex("0101010004010174016100")  # clock 0: "a"
B = bytes.fromhex("01010101840100016200")  # clock 1: "b", origin (1, 0)
# clock 2: "c" with right origin (1, 0); clock 3: "d" with origin (1, 1).
CD = bytes.fromhex("010201024401000163840101016400")
CABD = "cabd"
CABD_STATE_VECTOR = bytes.fromhex("010104")  # {1: 4}
# Applied as A, CD, B, yrs loses "d" (clock 3).
BUGGY_ORDER = (A, CD, B)
BUGGY_TEXT = "cab"
BUGGY_STATE_VECTOR = bytes.fromhex("010103")  # {1: 3}

# Six single-character inserts by client 1 (clocks 0..5) at indices 0, 1, 1, 1, 3, 1:
# the text is "afdceb". Same bytes as INSERTS_AFDCEB in tests/crdt/test_document.py.
AFDCEB = [
    bytes.fromhex("0101010004010174016100"),
    bytes.fromhex("01010101840100016200"),
    bytes.fromhex("01010102c401000101016300"),
    bytes.fromhex("01010103c401000102016400"),
    bytes.fromhex("01010104c401020101016500"),
    bytes.fromhex("01010105c401000103016600"),
]
AFDCEB_STATE_VECTOR = bytes.fromhex("010106")  # {1: 6}
# Documented in docs/yrs-pending-updates.md: 120 of the 720 orders lose the clock-5
# edit ("f"), always with this outcome.
DOCUMENTED_LOSSY_ORDERS = 120
DOCUMENTED_LOSSY_OUTCOME = ("adceb", bytes.fromhex("010105"))  # {1: 5}

FIXED = (
    "A new pycrdt release fixed the yrs bug that drops a pending update when the gap "
    "in its client's clocks fills (see docs/yrs-pending-updates.md). The server's own "
    "pending buffer (crdt/pending.py, used by crdt/document.py) could be reconsidered, and "
    "docs/yrs-pending-updates.md and these canaries updated."
)


def apply_in_order(updates: tuple[bytes, ...] | list[bytes]) -> tuple[str, bytes]:
    """The text and the state vector of a fresh pycrdt Doc after ``updates``."""
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return str(doc.get("t", type=Text)), doc.get_state()


def test_reproducer_bytes_are_what_a_client_produces() -> None:
    """Control: the constants are a real client's updates, fine in causal order."""
    doc: Doc[Any] = Doc(client_id=1)
    text = doc.get("t", type=Text)
    produced: list[bytes] = []
    before = doc.get_state()
    text.insert(0, "a")
    produced.append(doc.get_update(before))
    before = doc.get_state()
    text.insert(1, "b")
    produced.append(doc.get_update(before))
    before = doc.get_state()
    with doc.transaction():
        text.insert(0, "c")
        text.insert(3, "d")
    produced.append(doc.get_update(before))
    assert produced == [A, B, CD]
    assert apply_in_order((A, B, CD)) == (CABD, CABD_STATE_VECTOR)
    assert apply_in_order(AFDCEB) == ("afdceb", AFDCEB_STATE_VECTOR)


def test_yrs_still_drops_a_pending_update() -> None:
    """Canary: applied as A, CD, B, yrs 0.28 loses "d" (clock 3)."""
    outcome = apply_in_order(BUGGY_ORDER)
    assert outcome != (CABD, CABD_STATE_VECTOR), FIXED
    assert outcome == (BUGGY_TEXT, BUGGY_STATE_VECTOR), (
        f"yrs's behaviour changed: text {outcome[0]!r}, state vector {outcome[1].hex()} "
        f"(documented: {BUGGY_TEXT!r}, {BUGGY_STATE_VECTOR.hex()}; correct: {CABD!r}, "
        f"{CABD_STATE_VECTOR.hex()}). Update docs/yrs-pending-updates.md."
    )


def test_yrs_still_drops_an_edit_in_120_of_720_orders() -> None:
    """Canary: the six-update statistic stays as documented, so a partial fix shows."""
    lossy: Counter[tuple[str, bytes]] = Counter()
    for order in itertools.permutations(AFDCEB):
        outcome = apply_in_order(list(order))
        if outcome != ("afdceb", AFDCEB_STATE_VECTOR):
            lossy[outcome] += 1
    count = sum(lossy.values())
    assert count >= DOCUMENTED_LOSSY_ORDERS, (
        f"Only {count} of 720 orders now lose an edit (documented: "
        f"{DOCUMENTED_LOSSY_ORDERS}), so at least in part: {FIXED}"
    )
    assert count == DOCUMENTED_LOSSY_ORDERS, (
        f"{count} of 720 orders now lose an edit (documented: {DOCUMENTED_LOSSY_ORDERS}): "
        "yrs got worse. Update docs/yrs-pending-updates.md."
    )
    assert set(lossy) == {DOCUMENTED_LOSSY_OUTCOME}, (
        f"the lossy orders now end as {sorted((t, sv.hex()) for t, sv in lossy)}, "
        f"documented only {DOCUMENTED_LOSSY_OUTCOME[0]!r} with state vector "
        f"{DOCUMENTED_LOSSY_OUTCOME[1].hex()}. Update docs/yrs-pending-updates.md."
    )
