"""Building Yjs bytes by hand in tests: lib0 varuints (pycrdt's encoder)."""

from __future__ import annotations

from pycrdt import write_var_uint


def var(*values: int) -> bytes:
    """The lib0 varuints of ``values``, one after another."""
    return b"".join(write_var_uint(value) for value in values)
