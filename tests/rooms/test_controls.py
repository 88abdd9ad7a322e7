"""The facilitator's controls on in-memory storage: documents from templates, locks,
versions (their content read through the live document), the timer and the spotlight,
removing people, ending the session, and the audit log.

The cohort (tests/support/domain.py) is Fay (facilitator), Ann and Bob (members) and
Olive (observer). A refusal is checked with ``cohort.refuses``: the right error and
reason, and nothing stored, published, recorded or edited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from rooms.controls import (
    MAX_TIMER_SECONDS,
    Controls,
    ExportFormat,
    NewDocument,
    SessionState,
    TimerRequest,
)
from rooms.errors import Conflict, Forbidden, Invalid, NotFound
from rooms.records import Participant
from rooms.roles import Role
from rooms.templates import TEMPLATES
from tests.support.domain import Cohort


async def _actions(c: Cohort) -> list[tuple[str, str, dict[str, object]]]:
    """The audit log, oldest first: (actor name, action, details)."""
    entries = await c.domain.controls.audit_log(c.room, c.fay, 100, None)
    return [(e.actor_name, e.action, e.details) for e in reversed(entries)]


def _types(published: list[tuple[str, dict[str, object]]]) -> list[str]:
    return [type for type, _ in published]


# Documents


async def test_a_document_from_a_template_holds_its_content(cohort: Cohort) -> None:
    c = cohort
    created = await c.domain.controls.create_document(
        c.room, c.ann, NewDocument("Plan", template="action-plan", mentor=c.bob.id)
    )
    assert (created.name, created.template) == ("Plan", "action-plan")
    assert (created.created_by, created.mentor_id, created.locked) == (c.ann.id, c.bob.id, False)
    markdown = await c.domain.markdown(c.room, created)
    assert markdown.startswith("# Action plan\n\nMentor: who follows this plan")
    assert "## Goals\n" in markdown and "- [ ] The first small step, this week\n" in markdown
    exported = await c.domain.controls.export(c.room, "Plan", "markdown")
    assert (exported.content, exported.format, exported.document) == (
        markdown,
        ExportFormat.MARKDOWN,
        "Plan",
    )

    published = await c.published()
    assert published == [
        (
            "document.created",
            {
                "document": {
                    "name": "Plan",
                    "created_at": created.created_at.isoformat(),
                    "locked": False,
                    "locked_by": None,
                    "template": "action-plan",
                    "created_by": c.ann.id,
                    "mentor_id": c.bob.id,
                }
            },
        )
    ]
    assert await _actions(c) == [
        ("Ann", "document.created", {"document": "Plan", "template": "action-plan"})
    ]


@pytest.mark.parametrize("template", sorted(TEMPLATES))
async def test_every_template_starts_with_its_title(cohort: Cohort, template: str) -> None:
    c = cohort
    info = await c.domain.controls.create_document(c.room, c.fay, NewDocument("Doc", template))
    title = TEMPLATES[template].blocks[0][2]
    assert (await c.domain.markdown(c.room, info)).startswith(f"# {title}\n")


async def test_an_empty_document_has_no_content(cohort: Cohort) -> None:
    c = cohort
    info = await c.domain.controls.create_document(c.room, c.fay, NewDocument("Blank"))
    assert (info.template, info.mentor_id, info.created_by) == (None, None, c.fay.id)
    assert await c.domain.markdown(c.room, info) == "\n"


async def test_a_new_document_is_checked(cohort: Cohort) -> None:
    c = cohort
    other = await c.domain.directory.create_room("Other")
    stranger = await c.domain.join(other, Role.MEMBER, "Sam")
    await c.domain.participants.remove_participant(c.bob.id)
    await c.domain.controls.create_document(c.room, c.fay, NewDocument("Taken"))
    create = c.domain.controls.create_document
    async with c.refuses(Forbidden, "forbidden"):
        await create(c.room, c.olive, NewDocument("Mine"))
    for name in ("", " ", "../x", "x" * 101):
        async with c.refuses(Invalid, "invalid_name"):
            await create(c.room, c.ann, NewDocument(name))
    async with c.refuses(Invalid, "invalid_template"):
        await create(c.room, c.ann, NewDocument("Doc", template="novel"))
    for mentor in (stranger.id, c.bob.id, "nobody", "not an id"):
        async with c.refuses(Invalid, "invalid_mentor"):
            await create(c.room, c.ann, NewDocument("Doc", mentor=mentor))
    async with c.refuses(Conflict, "document_exists"):
        await create(c.room, c.ann, NewDocument("Taken"))


async def test_a_room_holds_at_most_its_document_limit(cohort: Cohort) -> None:
    c = cohort
    d = c.domain
    limited = Controls(
        d.store, d.control_store, d.threads, d.participants, d.events, d.hub, max_documents=2
    )
    await limited.create_document(c.room, c.fay, NewDocument("One"))
    await limited.create_document(c.room, c.ann, NewDocument("Two"))
    async with c.refuses(Conflict, "too_many_documents"):
        await limited.create_document(c.room, c.ann, NewDocument("Three"))
    assert [i.name for i in await d.directory.documents(c.room)] == ["One", "Two"]


async def test_the_creator_or_a_facilitator_sets_the_mentor(cohort: Cohort) -> None:
    c = cohort
    await c.domain.controls.create_document(c.room, c.ann, NewDocument("Plan"))
    set_mentor = c.domain.controls.set_mentor
    assert (await set_mentor(c.room, c.ann, "Plan", c.olive.id)).mentor_id == c.olive.id
    assert (await set_mentor(c.room, c.fay, "Plan", c.bob.id)).mentor_id == c.bob.id
    async with c.refuses(Forbidden, "forbidden"):
        await set_mentor(c.room, c.bob, "Plan", c.bob.id)
    async with c.refuses(Invalid, "invalid_mentor"):
        await set_mentor(c.room, c.ann, "Plan", "nobody")
    async with c.refuses(NotFound, "unknown_document"):
        await set_mentor(c.room, c.fay, "Nowhere", None)
    cleared = await set_mentor(c.room, c.ann, "Plan", None)
    assert cleared.mentor_id is None
    assert _types(await c.published()) == ["document.created"] + ["document.updated"] * 3
    assert [a for _, a, _ in await _actions(c)] == ["document.created"] + ["document.mentor"] * 3
    assert (await _actions(c))[-1] == (
        "Ann",
        "document.mentor",
        {"document": "Plan", "mentor": None},
    )


# Lock


async def test_locking_saves_a_version_and_is_announced(cohort: Cohort) -> None:
    c = cohort
    info = await c.domain.controls.create_document(c.room, c.fay, NewDocument("Essay"))
    await c.domain.write(c.room, info, "Final words")
    for who in (c.ann, c.olive):
        async with c.refuses(Forbidden, "forbidden"):
            await c.domain.controls.lock(c.room, who, "Essay", True)

    seq = await c.last_seq()
    locked = await c.domain.controls.lock(c.room, c.fay, "Essay", True)
    assert (locked.locked, locked.locked_by) == (True, "Fay")
    assert (await c.domain.directory.find_document(c.room, "Essay")) == locked
    [version] = await c.domain.controls.versions(c.room, "Essay")
    assert (version.name, version.reason, version.created_by) == ("Locked by Fay", "lock", c.fay.id)
    saved = await c.domain.controls.export(c.room, "Essay", "markdown", version.id)
    assert saved.content == "Final words\n"
    assert await c.published(seq) == [
        (
            "version.saved",
            {
                "document": "Essay",
                "version": {
                    "id": version.id,
                    "name": "Locked by Fay",
                    "reason": "lock",
                    "created_by": c.fay.id,
                    "created_at": version.created_at.isoformat(),
                },
            },
        ),
        (
            "document.locked",
            {"document": "Essay", "document_id": info.id, "locked": True, "by": "Fay"},
        ),
    ]

    # Locking a locked document changes nothing.
    seq = await c.last_seq()
    assert await c.domain.controls.lock(c.room, c.fay, "Essay", True) == locked
    assert await c.published(seq) == []
    unlocked = await c.domain.controls.lock(c.room, c.fay, "Essay", False)
    assert (unlocked.locked, unlocked.locked_by) == (False, None)
    assert len(await c.domain.controls.versions(c.room, "Essay")) == 1
    assert _types(await c.published(seq)) == ["document.locked"]
    assert [a for _, a, _ in await _actions(c)] == [
        "document.created",
        "document.lock",
        "document.unlock",
    ]


# Versions and export


async def test_versions_save_restore_and_export_the_live_content(cohort: Cohort) -> None:
    c = cohort
    info = await c.domain.controls.create_document(c.room, c.ann, NewDocument("Notes"))
    await c.domain.write(c.room, info, "First draft", "with *stars*")
    first = await c.domain.controls.save_version(c.room, c.fay, "Notes", "  Draft 1 ")
    assert (first.name, first.reason, first.document_id) == ("Draft 1", "manual", info.id)
    await c.domain.write(c.room, info, "Second draft")
    second = await c.domain.controls.save_version(c.room, c.fay, "Notes", "Draft 2")
    await c.domain.write(c.room, info, "Ruined")

    versions = await c.domain.controls.versions(c.room, "Notes")
    assert [v.id for v in versions] == [second.id, first.id]
    export = c.domain.controls.export
    assert (await export(c.room, "Notes", "markdown")).content == "Ruined\n"
    assert (await export(c.room, "Notes", "markdown", first.id)).content == (
        "First draft\n\nwith \\*stars\\*\n"
    )
    html = (await export(c.room, "Notes", "html", second.id)).content
    assert "<title>Notes — Draft 2</title>" in html and "<p>Second draft</p>" in html
    current = (await export(c.room, "Notes", "html")).content
    assert "<title>Notes</title>" in current and "<p>Ruined</p>" in current

    seq = await c.last_seq()
    backup = await c.domain.controls.restore(c.room, c.fay, "Notes", first.id)
    assert (backup.name, backup.reason) == ("Before restoring “Draft 1”", "restore")
    assert await c.domain.markdown(c.room, info) == "First draft\n\nwith \\*stars\\*\n"
    assert (await export(c.room, "Notes", "markdown", backup.id)).content == "Ruined\n"
    assert _types(await c.published(seq)) == ["version.saved", "document.restored"]
    restored = (await c.published(seq))[1][1]
    assert restored["version"]["id"] == first.id and restored["by"] == "Fay"
    # The restore is an edit like any other: it reaches storage with the rest.
    await c.domain.hub.flush_all()
    assert len(c.domain.state.documents[info.id].log) == 4

    assert [a for _, a, _ in await _actions(c)] == [
        "document.created",
        "version.saved",
        "version.saved",
        "version.restored",
    ]


async def test_versions_are_checked(cohort: Cohort) -> None:
    c = cohort
    controls = c.domain.controls
    await controls.create_document(c.room, c.fay, NewDocument("Notes"))
    await controls.create_document(c.room, c.fay, NewDocument("Other"))
    version = await controls.save_version(c.room, c.fay, "Notes", "V1")
    elsewhere = await controls.save_version(c.room, c.fay, "Other", "V1")
    for who in (c.ann, c.olive):
        async with c.refuses(Forbidden, "forbidden"):
            await controls.save_version(c.room, who, "Notes", "Mine")
        async with c.refuses(Forbidden, "forbidden"):
            await controls.restore(c.room, who, "Notes", version.id)
    async with c.refuses(Invalid, "invalid_name"):
        await controls.save_version(c.room, c.fay, "Notes", "   ")
    for version_id in (elsewhere.id, 0, 4242, 2**63):
        async with c.refuses(NotFound, "unknown_version"):
            await controls.restore(c.room, c.fay, "Notes", version_id)
        with pytest.raises(NotFound):
            await controls.export(c.room, "Notes", "markdown", version_id)
    with pytest.raises(Invalid) as refused:
        await controls.export(c.room, "Notes", "pdf")
    assert refused.value.reason == "invalid_format"
    with pytest.raises(NotFound) as missing:
        await controls.export(c.room, "Nowhere", "html")
    assert missing.value.reason == "unknown_document"


# Timer and spotlight


async def test_the_timer_runs_until_stopped(cohort: Cohort) -> None:
    c = cohort
    controls = c.domain.controls
    assert await controls.room_state(c.room) == SessionState(None, None)
    for who in (c.ann, c.olive):
        async with c.refuses(Forbidden, "forbidden"):
            await controls.start_timer(c.room, who, TimerRequest(60))
    for seconds in (0, -5, MAX_TIMER_SECONDS + 1):
        async with c.refuses(Invalid, "invalid_seconds"):
            await controls.start_timer(c.room, c.fay, TimerRequest(seconds))
    async with c.refuses(Invalid, "invalid_label"):
        await controls.start_timer(c.room, c.fay, TimerRequest(60, "tab\there"))

    timer = await controls.start_timer(c.room, c.fay, TimerRequest(90, " Discuss "))
    assert timer.started_at is not None
    assert timer.ends_at - timer.started_at == timedelta(seconds=90)
    assert timer.label == "Discuss"
    assert (await controls.room_state(c.room)).timer == timer
    assert await c.published() == [
        (
            "timer.started",
            {
                "started_at": timer.started_at.isoformat(),
                "ends_at": timer.ends_at.isoformat(),
                "label": "Discuss",
                "seconds": 90,
                "by": "Fay",
            },
        )
    ]
    async with c.refuses(Forbidden, "forbidden"):
        await controls.stop_timer(c.room, c.ann)
    await controls.stop_timer(c.room, c.fay)
    assert (await controls.room_state(c.room)).timer is None
    assert (await c.published())[-1] == ("timer.stopped", {"by": "Fay"})
    assert await _actions(c) == [
        ("Fay", "timer.started", {"seconds": 90, "label": "Discuss"}),
        ("Fay", "timer.stopped", {}),
    ]


async def test_a_timer_that_ran_out_is_not_shown(cohort: Cohort) -> None:
    c = cohort
    ended = datetime.now(UTC) - timedelta(seconds=1)
    await c.domain.control_store.set_timer(c.room.id, ended - timedelta(minutes=5), ended, "Old")
    assert (await c.domain.controls.room_state(c.room)).timer is None


async def test_the_facilitator_takes_and_leaves_the_spotlight(cohort: Cohort) -> None:
    c = cohort
    controls = c.domain.controls
    for who in (c.ann, c.olive):
        async with c.refuses(Forbidden, "forbidden"):
            await controls.spotlight(c.room, who, True)
    await controls.spotlight(c.room, c.fay, True)
    spotlight = (await controls.room_state(c.room)).spotlight
    assert isinstance(spotlight, Participant)
    assert (spotlight.id, spotlight.name, spotlight.role) == (c.fay.id, "Fay", Role.FACILITATOR)
    await controls.spotlight(c.room, c.fay, False)
    assert (await controls.room_state(c.room)).spotlight is None
    assert await c.published() == [
        ("spotlight.started", {"participant": {"id": c.fay.id, "name": "Fay"}}),
        ("spotlight.ended", {"by": "Fay"}),
    ]
    assert [a for _, a, _ in await _actions(c)] == ["spotlight.started", "spotlight.ended"]


# Removing people


async def test_a_removed_participant_is_gone_and_announced(cohort: Cohort) -> None:
    c = cohort
    for who in (c.ann, c.olive):
        async with c.refuses(Forbidden, "forbidden"):
            await c.domain.controls.remove(c.room, who, c.bob.id)
    assert await c.domain.controls.remove(c.room, c.fay, c.bob.id) is None
    assert await c.domain.participants.standing(c.bob.id) is None
    listed = await c.domain.comments.participants(c.room)
    assert sorted(p.name for p in listed) == ["Ann", "Fay", "Olive"]
    assert await c.published() == [
        ("participant.removed", {"participant_id": c.bob.id, "name": "Bob"})
    ]
    assert await _actions(c) == [
        ("Fay", "participant.removed", {"participant": c.bob.id, "name": "Bob"})
    ]
    # The invite was not rotated: anyone with it can still join.
    invites = {i.role: i.code for i in await c.domain.store.list_invites(c.room.id)}
    assert invites == c.created.invites


async def test_only_present_non_facilitators_can_be_removed(cohort: Cohort) -> None:
    c = cohort
    other = await c.domain.directory.create_room("Other")
    stranger = await c.domain.join(other, Role.MEMBER, "Sam")
    co_host = await c.join(Role.FACILITATOR, "Flo")
    await c.domain.controls.remove(c.room, c.fay, c.bob.id)
    for person in (c.bob.id, stranger.id, "nobody", "not an id", ""):
        async with c.refuses(NotFound, "unknown_participant"):
            await c.domain.controls.remove(c.room, c.fay, person)
    for facilitator in (co_host.id, c.fay.id):
        async with c.refuses(Forbidden, "forbidden"):
            await c.domain.controls.remove(c.room, c.fay, facilitator)


async def test_removal_with_rotation_keeps_the_removed_out(cohort: Cohort) -> None:
    c = cohort
    old_code = c.created.invites[Role.MEMBER]
    invite = await c.domain.controls.remove(c.room, c.fay, c.ann.id, rotate_invite=True)
    assert invite is not None
    assert (invite.role, invite.room, invite.revoked) == (Role.MEMBER, c.room, False)
    assert invite.code != old_code

    with pytest.raises(NotFound) as refused:
        await c.domain.directory.join(old_code, "Ann again")
    assert refused.value.reason == "unknown_invite"
    newcomer, room = await c.domain.directory.join(invite.code, "Nia")
    assert (newcomer.role, room) == (Role.MEMBER, c.room)
    # Only the removed person's role got a new code.
    invites = {i.role: i.code for i in await c.domain.store.list_invites(c.room.id)}
    assert invites == {**c.created.invites, Role.MEMBER: invite.code}
    assert _types(await c.published()) == ["participant.removed", "invite.rotated"]
    assert (await c.published())[-1] == ("invite.rotated", {"role": "member"})
    assert [a for _, a, _ in await _actions(c)] == ["participant.removed", "invite.rotated"]


async def test_invites_rotate_by_role(cohort: Cohort) -> None:
    c = cohort
    async with c.refuses(Forbidden, "forbidden"):
        await c.domain.controls.rotate_invite(c.room, c.ann, "observer")
    async with c.refuses(NotFound, "unknown_role"):
        await c.domain.controls.rotate_invite(c.room, c.fay, "admin")
    invite = await c.domain.controls.rotate_invite(c.room, c.fay, "observer")
    assert invite.role is Role.OBSERVER
    revoked = await c.domain.store.get_invite(c.created.invites[Role.OBSERVER])
    assert revoked is not None and revoked.revoked


# End of session


async def test_ending_the_session_saves_every_document_and_stops_the_clock(
    cohort: Cohort,
) -> None:
    c = cohort
    controls = c.domain.controls
    one = await controls.create_document(c.room, c.fay, NewDocument("One"))
    await controls.create_document(c.room, c.ann, NewDocument("Two", template="style-guide"))
    await c.domain.write(c.room, one, "Done")
    await controls.start_timer(c.room, c.fay, TimerRequest(600))
    await controls.spotlight(c.room, c.fay, True)
    for who in (c.ann, c.olive):
        async with c.refuses(Forbidden, "forbidden"):
            await controls.end_session(c.room, who)

    seq = await c.last_seq()
    saved = await controls.end_session(c.room, c.fay)
    assert [(v.document_id, v.reason) for v in saved] == [
        (one.id, "session"),
        (one.id + 1, "session"),
    ]
    assert all(v.name.startswith("Session ended ") and v.name.endswith(" UTC") for v in saved)
    assert (await controls.export(c.room, "One", "markdown", saved[0].id)).content == "Done\n"
    two = (await controls.export(c.room, "Two", "markdown", saved[1].id)).content
    assert two.startswith("# Style guide\n")
    assert await controls.room_state(c.room) == SessionState(None, None)
    assert _types(await c.published(seq)) == ["version.saved", "version.saved", "session.ended"]
    assert (await c.published(seq))[-1] == ("session.ended", {"by": "Fay", "versions": 2})
    assert (await _actions(c))[-1] == ("Fay", "session.ended", {"versions": 2})


# Audit log


async def test_the_audit_log_is_the_facilitators_newest_first(cohort: Cohort) -> None:
    c = cohort
    controls = c.domain.controls
    await controls.spotlight(c.room, c.fay, True)
    await controls.spotlight(c.room, c.fay, False)
    await controls.rotate_invite(c.room, c.fay, "member")
    for who in (c.ann, c.olive):
        async with c.refuses(Forbidden, "forbidden"):
            await controls.audit_log(c.room, who, 10, None)

    entries = await controls.audit_log(c.room, c.fay, 10, None)
    assert [e.action for e in entries] == ["invite.rotated", "spotlight.ended", "spotlight.started"]
    assert {(e.actor_id, e.actor_name) for e in entries} == {(c.fay.id, "Fay")}
    page = await controls.audit_log(c.room, c.fay, 1, entries[0].id)
    assert [e.action for e in page] == ["spotlight.ended"]
    other = await c.domain.directory.create_room("Other")
    host = await c.domain.join(other, Role.FACILITATOR, "Hal")
    assert await controls.audit_log(other.room, host, 10, None) == []


async def test_a_failed_audit_record_is_logged_not_raised(
    cohort: Cohort, caplog: pytest.LogCaptureFixture
) -> None:
    c = cohort
    c.domain.state.fail_writes = RuntimeError("disk full")
    await c.domain.controls.record(c.room, c.fay.id, "Fay", "manual.note", {"n": 1})
    c.domain.state.fail_writes = None
    assert await _actions(c) == []
    assert "could not record manual.note" in caplog.text
    await c.domain.controls.record(c.room, None, "System", "manual.note", {"n": 2})
    [entry] = await c.domain.controls.audit_log(c.room, c.fay, 10, None)
    assert (entry.actor_id, entry.actor_name, entry.details) == (None, "System", {"n": 2})


@pytest.mark.parametrize("who", ["creator", "member", "mentor"])
async def test_creating_or_mentoring_a_document_gives_no_session_control(
    cohort: Cohort, who: str
) -> None:
    """Every facilitator control, asked by the document's creator (a member), another
    member, and its mentor (an observer): refused, with nothing changed."""
    c = cohort
    controls = c.domain.controls
    await controls.create_document(c.room, c.ann, NewDocument("Doc", mentor=c.olive.id))
    version = await controls.save_version(c.room, c.fay, "Doc", "V")
    viewer = {"creator": c.ann, "member": c.bob, "mentor": c.olive}[who]
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "lock": lambda: controls.lock(c.room, viewer, "Doc", True),
        "save_version": lambda: controls.save_version(c.room, viewer, "Doc", "V2"),
        "restore": lambda: controls.restore(c.room, viewer, "Doc", version.id),
        "remove": lambda: controls.remove(c.room, viewer, c.bob.id),
        "rotate_invite": lambda: controls.rotate_invite(c.room, viewer, "member"),
        "start_timer": lambda: controls.start_timer(c.room, viewer, TimerRequest(5)),
        "stop_timer": lambda: controls.stop_timer(c.room, viewer),
        "spotlight": lambda: controls.spotlight(c.room, viewer, True),
        "end_session": lambda: controls.end_session(c.room, viewer),
        "audit_log": lambda: controls.audit_log(c.room, viewer, 10, None),
    }
    for call in calls.values():
        async with c.refuses(Forbidden, "forbidden"):
            await call()
