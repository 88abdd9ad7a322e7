"""Routes for participation: the facilitators' report (JSON and CSV) and each person's
own summary. The reports come from :class:`rooms.participation.Participation`.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.participation_records import (
    ActivitySeries,
    OwnThread,
    PersonReport,
    RoomReport,
    WaitingQuestion,
)
from server.http.common import app_state, viewer_for

# A spreadsheet takes a cell starting with one of these for a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "name",
    "role",
    "guest",
    "present_minutes",
    "added",
    "removed",
    "comments",
    "questions",
    "anonymous_questions",
    "answers",
    "accepted_answers",
    "reactions_given",
    "reactions_received",
    "last_active_at",
    "contributed",
)


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def person_json(report: PersonReport, *, own: bool = False) -> dict[str, Any]:
    """A row of the report; ``own`` (the person's own summary) leaves anonymous
    questions out of it."""
    person, counts = report.participant, report.counts
    row: dict[str, Any] = {
        "participant_id": person.id,
        "name": person.name,
        "role": person.role.value,
        "guest": person.guest,
        # "removed" is the characters they removed: this says they left the room.
        "removed_from_room": person.removed,
        "colour": report.colour,
        "here_now": report.here_now,
        "present_seconds": report.present_seconds,
        "added": report.added,
        "removed": report.removed,
        "documents": [
            {"document": d.document, "added": d.added, "removed": d.removed, "edits": d.edits}
            for d in report.documents
        ],
        "comments": counts.comments,
        "questions": counts.questions,
        "anonymous_questions": counts.anonymous_questions,
        "answers": counts.answers,
        "accepted_answers": counts.accepted_answers,
        "reactions_given": counts.reactions_given,
        "reactions_received": counts.reactions_received,
        "last_active_at": _when(report.last_active_at),
        "contributed": report.contributed,
    }
    if own:
        del row["anonymous_questions"]
    return row


def waiting_json(waiting: WaitingQuestion) -> dict[str, Any]:
    question = waiting.question
    return {
        "thread_id": question.thread_id,
        "document": question.document,
        "text": question.text,
        "asker_id": question.asker_id,
        "asker_name": waiting.asker_name,
        "anonymous": question.anonymous,
        "asked_at": _when(question.asked_at),
        "waiting_seconds": waiting.waiting_seconds,
    }


def series_json(series: ActivitySeries) -> dict[str, Any]:
    return {
        "document": series.document,
        "bucket_seconds": series.bucket_seconds,
        "start": _when(series.start),
        "edits": list(series.edits),
        "added": list(series.added),
    }


def own_thread_json(thread: OwnThread) -> dict[str, Any]:
    return {
        "thread_id": thread.thread_id,
        "document": thread.document,
        "kind": thread.kind,
        "text": thread.text,
        "replies": thread.replies,
        "accepted": thread.accepted,
        "created_at": _when(thread.created_at),
    }


def report_json(report: RoomReport) -> dict[str, Any]:
    return {
        "generated_at": _when(report.generated_at),
        "people": [person_json(p) for p in report.people],
        "not_contributed": list(report.not_contributed),
        "unanswered": [waiting_json(w) for w in report.unanswered],
        "activity": [series_json(s) for s in report.activity],
    }


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def report_csv(report: RoomReport) -> str:
    """One row per person, then an added and a removed column per document."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = list(CSV_COLUMNS)
    for name in report.documents:
        header += [f"added: {name}", f"removed: {name}"]
    writer.writerow([safe_cell(h) for h in header])
    for person in report.people:
        row = person_json(person)
        shares = {d.document: d for d in person.documents}
        cells: list[object] = [
            row["name"],
            row["role"],
            str(row["guest"]).lower(),
            round(person.present_seconds / 60),
            *(row[column] for column in CSV_COLUMNS[4:14]),
            str(row["contributed"]).lower(),
        ]
        for name in report.documents:
            share = shares.get(name)
            cells += [0, 0] if share is None else [share.added, share.removed]
        writer.writerow([safe_cell(c) for c in cells])
    return out.getvalue()


async def room_participation(request: Request) -> Response:
    """Everyone's participation (facilitators): per person time present, text added and
    removed per document, comments, questions (anonymous ones included, and counted
    apart), answers, accepted answers, reactions given and received, last activity;
    who has not contributed yet; unanswered questions, oldest first; activity per
    document in 5-minute buckets.
    ---
    summary: Participation report
    responses:
      200:
        description: The report
      403:
        description: Not a facilitator
    """
    room, viewer = await viewer_for(request)
    report = await app_state(request).participation.room_report(room, viewer)
    return JSONResponse(report_json(report))


async def room_participation_csv(request: Request) -> Response:
    """The participation report as CSV (facilitators): one row per person, and an
    added and a removed column per document. A cell that a spreadsheet would take for
    a formula starts with an apostrophe.
    ---
    summary: Participation report as CSV
    responses:
      200:
        description: The report, as a download
        content:
          text/csv: {}
      403:
        description: Not a facilitator
    """
    room, viewer = await viewer_for(request)
    report = await app_state(request).participation.room_report(room, viewer)
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="participation-{room.slug}.csv"'},
    )


async def own_participation(request: Request) -> Response:
    """Your own contribution: what you wrote, your threads (those asked anonymously
    left out), answers accepted. Nothing about anyone else.
    ---
    summary: Your participation
    responses:
      200:
        description: Your summary and your threads
    """
    room, viewer = await viewer_for(request)
    report = await app_state(request).participation.own_report(room, viewer)
    return JSONResponse(
        {
            "generated_at": _when(report.generated_at),
            "person": person_json(report.person, own=True),
            "threads": [own_thread_json(t) for t in report.threads],
        }
    )
