"""Settings, read from ``ROUNDTABLE_*`` environment variables with CLI overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./roundtable.db"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = DEFAULT_DATABASE_URL
    workers: int = 1
    redis_url: str | None = None
    # Prefix of every Redis channel name, so several deployments can share one Redis.
    redis_prefix: str = "roundtable"
    # Token signing key; when unset, one is generated once and kept in the database.
    secret_key: str | None = None
    # Bearer token that may create rooms over HTTP; room creation over HTTP is off without it.
    admin_token: str | None = None
    # Bearer token that may read GET /metrics (Prometheus); the endpoint is off without it.
    metrics_token: str | None = None
    # Where `roundtable serve` keeps the metrics files its processes share (emptied of
    # them at start); unset: a new temporary directory. PROMETHEUS_MULTIPROC_DIR wins.
    metrics_dir: str | None = None
    token_ttl_seconds: int = 7 * 24 * 3600
    # Write-behind: updates reach the database at most this many seconds after arriving.
    flush_interval: float = 1.0
    # After a failed write, retries back off from flush_interval up to this many seconds.
    max_flush_retry_delay: float = 5.0
    # How long a SQLite statement waits for a lock another connection holds before it
    # fails (a failed flush is retried).
    database_busy_timeout: float = 30.0
    compact_threshold: int = 200
    idle_unload_seconds: float = 30.0
    max_message_size: int = 1024 * 1024
    # A connection whose unsent bytes stay above this limit for send_stall_seconds (or
    # pass four times the limit) is disconnected.
    send_buffer_limit: int = 4 * 1024 * 1024
    send_stall_seconds: float = 5.0
    # A connection being closed (removed, token expired, too slow, bad input) that has
    # not taken its close frame within this many seconds is dropped.
    close_grace_seconds: float = 2.0
    # Per sync connection: sync step 1 requests (each answered with everything the
    # client lacks, the whole document when it has nothing) a minute, all at once at most.
    max_sync_requests_per_minute: int = 20
    # After a process stopped without storing its last edits (killed, crashed), a
    # client's first sync step 2 may for this long carry other participants' edits
    # that the server lacks (the copies the clients kept); otherwise that is refused.
    recovery_seconds: float = 300.0
    max_awareness_bytes: int = 64 * 1024
    # Origins (scheme://host[:port], comma-separated) whose pages may open WebSockets,
    # besides the server's own host.
    allowed_origins: str = ""
    # Per process and client address; 0 turns the limit off.
    max_connection_attempts_per_minute: int = 600
    # Per connection: a sustained rate with room for a burst (a paste, a reconnect).
    max_messages_per_second: float = 100.0
    message_burst: int = 500
    max_documents_per_room: int = 500
    max_clients_per_document: int = 500
    # Joining (POST /api/join): attempts per invite code and per client address over a
    # sliding minute, counted per process; 0 turns a limit off. A cohort arrives at once,
    # all through one invite link and often from one company network behind one NAT
    # address (200 people in the same minute): 300 lets such a cohort in with room for
    # retries and second devices, and stops a script minting participants by the
    # thousand after 300.
    max_joins_per_invite_per_minute: int = 300
    max_joins_per_address_per_minute: int = 300
    # Members and observers a room holds at most (removed ones free their place), for
    # rooms that set no max_participants of their own; 0: no cap. Facilitators always
    # get in.
    max_participants_per_room: int = 0
    # Each process re-announces its roster entries this often; a process silent for
    # presence_timeout_seconds (it died) leaves the roster.
    presence_heartbeat_seconds: float = 10.0
    presence_timeout_seconds: float = 30.0
    # Sign-in and invitation emails go through this SMTP server: smtp://user:pass@host:port
    # (STARTTLS when the server offers it) or smtps://... (TLS from the start). Unset:
    # the links and codes are written to the log instead.
    smtp_url: str | None = None
    mail_from: str = "Roundtable <roundtable@localhost>"
    # The address people reach this server at, for the links in emails (for example
    # https://roundtable.example.com); unset: the address the request came to.
    public_url: str | None = None
    # Sign-in emails per email address and per client address over a sliding hour,
    # counted in storage (so across processes); 0 turns a limit off.
    max_sign_ins_per_email_per_hour: int = 5
    max_sign_ins_per_address_per_hour: int = 30
    # An account session (the browser's sign-in) ends this long after its last use.
    session_days: int = 30
    log_level: str = "info"
    # "text" (one readable line a record) or "json" (one JSON object a line, with the
    # request and connection ids: server/logs.py).
    log_format: str = "text"
    # On SIGTERM, /ready answers 503 for this long while everything keeps working (a load
    # balancer stops sending new connections), then the open sockets are closed with 1012
    # spread over close_spread_seconds, so their clients do not all reconnect at once.
    drain_seconds: float = 5.0
    close_spread_seconds: float = 3.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``ROUNDTABLE_<FIELD>`` variables, then non-None ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get("ROUNDTABLE_" + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, raw, cls.__dataclass_fields__[f.name].default)
        settings = cls(**values)
        chosen = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **chosen)

    def to_env(self) -> dict[str, str]:
        """The settings as environment variables, for worker processes to read back."""
        return {
            "ROUNDTABLE_" + f.name.upper(): str(getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) is not None
        }


def _convert(name: str, raw: str, default: object) -> object:
    try:
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"ROUNDTABLE_{name.upper()}={raw!r} is not a valid number") from exc
    return raw
