"""The domain: rooms, participants, roles, documents and the live document hub.

Talks to storage through the ports in :mod:`rooms.ports`; imports nothing from
``server`` and no web framework.
"""
