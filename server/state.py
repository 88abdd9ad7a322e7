"""What the routes share: storage, the room directory, the hub and the token signer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from rooms.accounts import Accounts
from rooms.authorship import Authorship
from rooms.comments import Comments
from rooms.controls import Controls
from rooms.directory import RoomDirectory
from rooms.events import RoomEvents
from rooms.live.hub import DocumentHub
from rooms.participation import Participation
from rooms.presence import Roster
from server.config import Settings
from server.mail import Outbox
from server.rate_limit import JoinLimits
from server.sockets.admission import Admission
from server.storage.controls import SqlControlStore
from server.storage.participants import SqlParticipantStore
from server.storage.store import SqlStore
from server.storage.threads import SqlThreadStore
from server.tokens import TokenSigner


@dataclass(slots=True)
class AppState:
    settings: Settings
    store: SqlStore
    participants: SqlParticipantStore
    threads: SqlThreadStore
    control_store: SqlControlStore
    directory: RoomDirectory
    accounts: Accounts
    # Emails (sign-in, invitations) go out through it in the background.
    outbox: Outbox
    hub: DocumentHub
    signer: TokenSigner
    events: RoomEvents
    comments: Comments
    controls: Controls
    authorship: Authorship
    roster: Roster
    participation: Participation
    admission: Admission
    join_limits: JoinLimits
    # This process's record in storage (rooms/live/recovery.py): the broker's origin id.
    run_id: str
    # The other processes' records found at start, running or dead: see app.py.
    other_runs: list[str]
    # Telling running processes from dead ones among them, once the broker has heard.
    run_check: asyncio.Task[None] | None = None
