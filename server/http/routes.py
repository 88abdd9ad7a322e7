"""Every URL the server answers, grouped by resource; each handler lives in the module
named for its resource (:mod:`server.http.rooms`, :mod:`server.http.threads`, ...)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from server.http import (
    accounts,
    authorship,
    documents,
    facilitation,
    invites,
    metrics,
    participants,
    participation,
    rooms,
    service,
    threads,
    versions,
)
from server.http.assets import Assets
from server.http.openapi import openapi
from server.sockets.events import events_endpoint
from server.sockets.sync import sync_endpoint

STATIC = Path(__file__).resolve().parent.parent.parent / "static"

ROOM = "/api/rooms/{room}"
DOCUMENT = ROOM + "/documents/{doc}"
VERSION = DOCUMENT + "/versions/{version:int}"
COMMENT = ROOM + "/comments/{comment:int}"
THREAD = ROOM + "/threads/{thread:int}"


async def app_page(request: Request) -> Response:
    """The web client; it reads the path (/, /join/{code}, /room/{slug}, /sign-in,
    /sign-in/{token}, /account) itself."""
    return FileResponse(STATIC / "app.html", headers={"cache-control": "no-cache"})


def routes() -> list[BaseRoute]:
    return [
        # The service
        Route("/health", service.health),
        Route("/ready", service.ready),
        Route("/api/templates", service.templates),
        Route("/api/vocabulary", service.vocabulary),
        Route("/api/openapi.json", openapi, include_in_schema=False),
        # For the operator's Prometheus, with its own token; not in the public API.
        Route("/metrics", metrics.metrics, include_in_schema=False),
        # Rooms
        Route("/api/rooms", rooms.create_room, methods=["POST"]),
        Route(ROOM, rooms.room_state),
        Route(ROOM + "/settings", rooms.get_settings),
        Route(ROOM + "/settings", rooms.update_settings, methods=["PATCH"]),
        # Signing in, and the account
        Route("/api/sign-in", accounts.request_sign_in, methods=["POST"]),
        Route("/api/sign-in/link", accounts.redeem_link, methods=["POST"]),
        Route("/api/sign-in/code", accounts.redeem_code, methods=["POST"]),
        Route("/api/sign-out", accounts.sign_out, methods=["POST"]),
        Route("/api/sign-out/everywhere", accounts.sign_out_everywhere, methods=["POST"]),
        Route("/api/account", accounts.get_account),
        Route("/api/account", accounts.update_account, methods=["PATCH"]),
        Route("/api/account", accounts.delete_account, methods=["DELETE"]),
        Route("/api/account/export", accounts.export_account),
        Route("/api/account/sessions", accounts.list_sessions),
        Route("/api/account/sessions/{session}", accounts.end_session, methods=["DELETE"]),
        Route("/api/account/join", accounts.join_as_account, methods=["POST"]),
        Route("/api/account/rooms/{room}/token", accounts.room_token, methods=["POST"]),
        # Getting in
        Route("/api/join", invites.join, methods=["POST"]),
        Route(ROOM + "/invites", invites.room_invites),
        Route(ROOM + "/invites/{role}/rotate", invites.rotate_invite, methods=["POST"]),
        # People
        Route(ROOM + "/participants", participants.participants),
        Route(ROOM + "/participants/me/email", participants.keep_seat, methods=["POST"]),
        Route(
            ROOM + "/participants/{participant}",
            participants.remove_participant,
            methods=["DELETE"],
        ),
        Route(ROOM + "/participants/{participant}", participants.change_role, methods=["PATCH"]),
        Route(ROOM + "/invitations", participants.invite_by_email, methods=["POST"]),
        Route(ROOM + "/roster", participants.roster),
        # Documents
        Route(ROOM + "/documents", documents.room_documents),
        Route(ROOM + "/documents", documents.create_document, methods=["POST"]),
        Route(DOCUMENT, documents.update_document, methods=["PATCH"]),
        Route(DOCUMENT + "/lock", documents.lock_document, methods=["PUT"]),
        Route(DOCUMENT + "/mentor/invitation", documents.invite_mentor, methods=["POST"]),
        Route(DOCUMENT + "/export", documents.export_document),
        # Versions
        Route(DOCUMENT + "/versions", versions.list_versions),
        Route(DOCUMENT + "/versions", versions.save_version, methods=["POST"]),
        Route(DOCUMENT + "/authors", authorship.document_authors),
        Route(DOCUMENT + "/diff", authorship.compare_versions),
        Route(VERSION, versions.get_version),
        Route(VERSION + "/export", versions.export_version),
        Route(VERSION + "/restore", versions.restore_version, methods=["POST"]),
        # Running the session
        Route(ROOM + "/timer", facilitation.start_timer, methods=["PUT"]),
        Route(ROOM + "/timer", facilitation.stop_timer, methods=["DELETE"]),
        Route(ROOM + "/spotlight", facilitation.spotlight, methods=["PUT", "DELETE"]),
        Route(ROOM + "/session/end", facilitation.end_session, methods=["POST"]),
        Route(ROOM + "/audit", facilitation.audit),
        # Participation
        Route(ROOM + "/participation", participation.room_participation),
        Route(ROOM + "/participation.csv", participation.room_participation_csv),
        Route(ROOM + "/participation/me", participation.own_participation),
        # Threads and questions
        Route(ROOM + "/threads", threads.list_threads),
        Route(ROOM + "/threads", threads.create_thread, methods=["POST"]),
        Route(THREAD, threads.get_thread),
        Route(THREAD, threads.update_thread, methods=["PATCH"]),
        Route(THREAD + "/comments", threads.reply, methods=["POST"]),
        Route(COMMENT, threads.edit_comment, methods=["PATCH"]),
        Route(COMMENT, threads.delete_comment, methods=["DELETE"]),
        Route(COMMENT + "/moderation", threads.moderate_comment, methods=["POST"]),
        Route(COMMENT + "/reactions/{reaction}", threads.react, methods=["PUT", "DELETE"]),
        Route(ROOM + "/mentions", threads.mentions),
        # The live sockets
        WebSocketRoute("/sync/{room}/{doc}", sync_endpoint),
        WebSocketRoute("/events/{room}", events_endpoint),
        # The web client
        Route("/", app_page),
        Route("/join/{code}", app_page),
        Route("/room/{room}", app_page),
        Route("/sign-in", app_page),
        Route("/sign-in/{token}", app_page),
        Route("/account", app_page),
        # Only the built bundle is served: not the sources, not node_modules. Its chunks
        # are cached for good, the rest revalidated, text gzip-compressed (assets.py).
        Mount("/static/dist", Assets(STATIC / "dist"), name="static"),
    ]
