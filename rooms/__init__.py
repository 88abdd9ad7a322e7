"""The domain: rooms, participants, roles, documents and the live document hub.

Talks to storage through the :class:`rooms.store.Store` protocol; imports nothing
from ``server`` and no web framework.
"""
