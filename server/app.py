"""The Starlette application: routes, and the lifespan that opens and closes storage."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from rooms.accounts import Accounts
from rooms.authorship import Authorship
from rooms.comments import Comments
from rooms.controls import Controls
from rooms.directory import RoomDirectory
from rooms.errors import Refused
from rooms.events import RoomEvents
from rooms.live.broker import Broker, LocalBroker
from rooms.live.hub import DocumentHub, HubSettings
from rooms.live.writer import WriterSettings
from rooms.participation import Participation
from rooms.ports import StoreError
from rooms.presence import Roster
from server import log_context
from server.config import Settings
from server.http.common import RequestRefused, error, refused
from server.http.headers import SECURITY_HEADERS, SecurityHeaders
from server.http.routes import routes
from server.log_context import LogContext
from server.logs import configure_logging
from server.mail import Outbox, mailer_for
from server.metrics_lifespan import measured
from server.outage import StorageOutage
from server.rate_limit import JoinLimits
from server.readiness import Readiness
from server.shutdown import Shutdown, install_signal_handlers
from server.sockets.admission import Admission
from server.sockets.peer import KeepServerSend
from server.state import AppState
from server.storage.accounts import SqlAccountStore
from server.storage.controls import SqlControlStore
from server.storage.migrate import upgrade
from server.storage.participants import SqlParticipantStore
from server.storage.store import SqlStore, create_engine, new_secret
from server.storage.threads import SqlThreadStore
from server.tokens import TokenSigner

if TYPE_CHECKING:
    from server.redis_broker import RedisBroker

log = logging.getLogger("roundtable")
# How often a process renews its record in storage (see rooms/live/recovery.py).
RUN_RENEWAL_SECONDS = 30.0


async def open_state(settings: Settings) -> AppState:
    """Connect to the database, apply migrations and build the shared state."""
    engine = create_engine(settings.database_url, settings.database_busy_timeout)
    await upgrade(engine)
    store = SqlStore(engine)
    secret = settings.secret_key or await store.get_or_create_setting("secret_key", new_secret)
    broker: Broker
    redis_broker: RedisBroker | None = None
    if settings.redis_url:
        # Imported only for a process that uses Redis (redis-py costs about 10 MB).
        from server.redis_broker import RedisBroker

        redis_broker = RedisBroker(settings.redis_url, settings.redis_prefix)
        await redis_broker.start()
        broker = redis_broker
    else:
        broker = LocalBroker()
    hub = DocumentHub(
        store,
        HubSettings(
            writer=WriterSettings(
                flush_interval=settings.flush_interval,
                compact_threshold=settings.compact_threshold,
                max_retry_delay=settings.max_flush_retry_delay,
            ),
            idle_unload_seconds=settings.idle_unload_seconds,
            max_awareness_bytes=settings.max_awareness_bytes,
            recovery_seconds=settings.recovery_seconds,
        ),
        broker,
    )
    run_id = broker.origin.hex()
    sole = not settings.redis_url
    other_runs = await store.begin_run(run_id, sole=sole, stale_after=3 * RUN_RENEWAL_SECONDS)
    if redis_broker is not None:
        # Its clients reconnect here with copies of its last unstored edits.
        redis_broker.on_process_died(lambda origin: hub.recovery.begin())
    if other_runs and sole:
        # The process before this one stopped without storing its last edits: their
        # copies come back with the clients that had them.
        log.warning("the previous process did not stop cleanly: recovering its last edits")
        hub.recovery.begin()
    events = RoomEvents(store, broker)
    participants = SqlParticipantStore(engine)
    threads = SqlThreadStore(engine)
    control_store = SqlControlStore(engine)
    directory = RoomDirectory(
        store,
        participants,
        settings.max_documents_per_room,
        settings.max_participants_per_room,
        threads,
    )
    outbox = Outbox(mailer_for(settings.smtp_url, settings.mail_from))
    roster = Roster(
        broker,
        heartbeat_seconds=settings.presence_heartbeat_seconds,
        timeout_seconds=settings.presence_timeout_seconds,
    )
    controls = Controls(
        store,
        control_store,
        threads,
        participants,
        events,
        hub,
        settings.max_documents_per_room,
    )
    return AppState(
        settings=settings,
        store=store,
        participants=participants,
        threads=threads,
        control_store=control_store,
        directory=directory,
        accounts=Accounts(
            SqlAccountStore(engine),
            participants,
            directory,
            secret,
            per_email=settings.max_sign_ins_per_email_per_hour,
            per_address=settings.max_sign_ins_per_address_per_hour,
            session_days=settings.session_days,
            events=events,
        ),
        outbox=outbox,
        hub=hub,
        signer=TokenSigner(secret, settings.token_ttl_seconds),
        events=events,
        comments=Comments(store, threads, participants, events, hub),
        controls=controls,
        authorship=Authorship(controls, store, participants),
        admission=Admission(settings),
        join_limits=JoinLimits(
            settings.max_joins_per_invite_per_minute, settings.max_joins_per_address_per_minute
        ),
        roster=roster,
        participation=Participation(store, participants, threads, roster),
        run_id=run_id,
        other_runs=[] if sole else other_runs,
    )


async def _recover_from_the_dead(state: AppState, broker: RedisBroker) -> None:
    """Of the processes recorded at start, those not heard from on the broker within
    its silence period and whose record is still there stopped uncleanly: drop their
    records and open the recovery window. One that stopped cleanly meanwhile (a rolling
    restart) removed its record itself."""
    await asyncio.sleep(broker.silence_seconds + 1)
    alive = {origin.hex() for origin in broker.processes}
    silent = [run for run in state.other_runs if run not in alive]
    dead = 0
    try:
        for run in silent:
            dead += await state.store.end_run(run)
    except StoreError as exc:
        log.warning("could not remove the records of stopped processes: %s", exc)
        # Not knowing which stopped cleanly, expect the last edits of all of them.
        dead = len(silent)
    if dead:
        log.warning("%d process(es) did not stop cleanly: recovering their last edits", dead)
        state.hub.recovery.begin()


async def _renew_run(state: AppState) -> None:
    """Tell storage this process is alive, so another one starting does not take its
    record for that of a process that died."""
    while True:
        await asyncio.sleep(RUN_RENEWAL_SECONDS)
        try:
            await state.store.renew_run(state.run_id)
        except StoreError as exc:
            log.warning("could not renew this process's record: %s", exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, "http_" + str(exc.status_code), str(exc.detail))


async def _server_error(request: Request, exc: Exception) -> Response:
    # Starlette sends this from its outermost middleware, outside SecurityHeaders and
    # LogContext (and logs the exception itself). LogContext leaves the request's id set
    # after an exception, for that log record and for this answer.
    response = error(500, "internal_error", "the server failed to answer this request")
    response.headers.update(SECURITY_HEADERS)
    rid = log_context.request_id.get()
    if rid is not None:
        response.headers[log_context.REQUEST_ID_HEADER] = rid
    return response


def create_app(
    settings: Settings | None = None, *, freeze_gc: bool = False, own_process: bool = False
) -> Starlette:
    """The application. With ``freeze_gc`` (for a server process of its own) everything
    alive once storage is open moves out of the garbage collector's sight. With
    ``own_process`` SIGTERM drains the process first (:mod:`server.shutdown`)."""
    settings = settings or Settings.from_env()
    shutdown = Shutdown(settings.drain_seconds, settings.close_spread_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = await open_state(settings)
        app.state.roundtable = state
        app.state.readiness = Readiness(state.store.engine, settings.redis_url, shutdown)
        give_back_signals = install_signal_handlers(shutdown) if own_process else None
        log.info("storage ready (%s)", state.store.engine.url.render_as_string(hide_password=True))
        if freeze_gc:
            # The modules, SQLAlchemy's mappers and the like live as long as the process;
            # a full collection scanning them all stalled every connection for 50 ms.
            gc.collect()
            gc.freeze()
        renewal = asyncio.create_task(_renew_run(state))
        broker = state.hub.broker
        state.run_check = (
            asyncio.create_task(_recover_from_the_dead(state, cast("RedisBroker", broker)))
            if state.other_runs and not isinstance(broker, LocalBroker)
            else None
        )
        try:
            yield
        finally:
            if give_back_signals is not None:
                give_back_signals()
            shutdown.cancel()
            renewal.cancel()
            if state.run_check is not None:
                state.run_check.cancel()
            await state.roster.close()
            await state.outbox.close()
            await state.hub.close()
            # Reached only once every update is stored.
            await state.store.end_run(state.run_id)
            await state.hub.broker.close()
            await state.store.close()
            await app.state.readiness.close()
            log.info("all updates stored; stopped")

    app = Starlette(
        routes=routes(),
        lifespan=measured(lifespan),
        middleware=[
            Middleware(LogContext),
            Middleware(KeepServerSend),
            Middleware(SecurityHeaders),
            Middleware(StorageOutage),
        ],
        exception_handlers={
            Refused: refused,
            RequestRefused: refused,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.shutdown = shutdown
    return app


def create_app_from_env() -> Starlette:
    """uvicorn factory for worker processes, which read their settings from the environment.

    A worker that uvicorn spawned has not inherited the parent's logging set-up.
    """
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, freeze_gc=True, own_process=True)
