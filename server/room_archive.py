"""One room as one ZIP archive: what ``roundtable room export`` writes and ``roundtable
room import`` reads back into another instance.

ZIP rather than tar.gz: each member is compressed on its own with a CRC, so a reader
opens ``manifest.json`` without inflating the rest and a damaged member is named; the
person's own export (``server/account_data.py``) is a ZIP too, and every desktop opens
one. The layout::

    manifest.json          format, format_version, exported_at, schema_revision,
                           the room's slug and title, counts, and the SHA-256 and
                           size of every other member
    room.json              the room's settings, invites, people (with the email of
                           the account each seat belongs to), documents, Yjs client
                           claims, versions, threads, comments, reactions, mentions,
                           the audit log and the participation sums
    documents/<id>.yjs     each document as one Yjs update (its stored state, compacted)
    documents/<id>.md      the same document as Markdown, to read
    versions/<id>.yjs      each saved version's state
    README.txt             this layout, for whoever opens the archive

Timestamps are ISO 8601 with their offset; the bytes of comment anchors (Yjs relative
positions) are base64. Nothing secret goes along: no tokens, session or sign-in hashes,
no secret key. Reading checks everything before the database sees a row: the format
and its version, every member's checksum, every field's type and length, every
reference (each thread's document and author, each reply's thread, each client claim's
person), every Yjs state and anchor (``ArchiveError`` says what is wrong).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pycrdt import Doc
from sqlalchemy import Boolean, Column, Integer, LargeBinary, String

from crdt.anchors import decode_relative_position
from crdt.content import to_markdown
from crdt.document import compact
from crdt.protocol import ProtocolError
from crdt.update import decode_update
from server.storage.archive import SECTIONS, RoomRows, Row
from server.storage.tables import UTCDateTime

FORMAT = "roundtable-room"
FORMAT_VERSION = 1
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# Fields besides a section's columns, with their kind (every one may be null).
_EXTRA: dict[str, dict[str, str]] = {
    "people": {"account_email": "str", "account_name": "str"},
    "documents": {"state": "file", "markdown": "file"},
    "versions": {"state": "file"},
}
_LISTS = tuple(name for name in SECTIONS if name != "room")
# An account's email address and name (accounts.email, the longer) fit in this.
MAX_EXTRA_LENGTH = 254
# What reading may unpack, judged by the sizes the ZIP declares (its reader inflates no
# member past its declared size): a small archive that inflates to gigabytes is refused
# before anything is inflated. The manifest lists the files, so its own cap is smaller.
MAX_MANIFEST_BYTES = 16 * 2**20
MAX_UNPACKED_BYTES = 2**30

README = """A Roundtable room, exported with `roundtable room export`.

manifest.json         what this is: format version, when, from which schema revision,
                      and a checksum of every other file
room.json             the room: settings, invites, people, documents, versions,
                      threads with their comments and reactions, the audit log,
                      participation sums
documents/<id>.yjs    each document's content as a Yjs update
documents/<id>.md     each document as Markdown
versions/<id>.yjs     each saved version's content as a Yjs update

Load it into a Roundtable instance with `roundtable room import FILE`.
"""


class ArchiveError(Exception):
    """The file is not a room archive this Roundtable can import; the message says why."""


@dataclass
class Manifest:
    format_version: int
    exported_at: str
    schema_revision: str | None
    slug: str
    title: str


# ------------------------------------------------------------------ writing


def build_archive(
    rows: RoomRows,
    stored: dict[int, tuple[bytes | None, list[bytes]]],
    schema_revision: str | None,
    now: datetime | None = None,
) -> bytes:
    """The archive of a room read by ``server.storage.archive.read_room``; each
    document's snapshot and log are folded into one state here."""
    files: dict[str, bytes] = {}
    room_json: dict[str, Any] = {"room": _encode("room", rows.room)}
    for name in _LISTS:
        records = []
        for row in rows[name]:
            record = _encode(name, row)
            if name == "people":
                record["account_email"] = row.get("account_email")
                record["account_name"] = row.get("account_name")
            elif name == "documents":
                snapshot, updates = stored[row["id"]]
                state = compact(snapshot, updates)
                record["state"] = f"documents/{row['id']}.yjs"
                record["markdown"] = f"documents/{row['id']}.md"
                files[record["state"]] = state
                files[record["markdown"]] = to_markdown(state).encode()
            elif name == "versions":
                record["state"] = f"versions/{row['id']}.yjs"
                files[record["state"]] = row["state"]
            records.append(record)
        room_json[name] = records
    files["room.json"] = _json(room_json)
    files["README.txt"] = README.encode()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": (now or datetime.now(UTC)).isoformat(),
        "schema_revision": schema_revision,
        "room": {"slug": rows.room["slug"], "title": rows.room["title"]},
        "counts": {name: len(rows[name]) for name in _LISTS},
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(files.items())
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", _json(manifest))
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buffer.getvalue()


def _json(value: object) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode()


def _kind(column: Column[Any]) -> str:
    if isinstance(column.type, UTCDateTime):
        return "time"
    if isinstance(column.type, LargeBinary):
        return "bytes"
    if isinstance(column.type, Boolean):
        return "bool"
    if isinstance(column.type, Integer):
        return "int"
    if isinstance(column.type, String):
        return "str"
    raise TypeError(f"no archive kind for column {column.name} ({column.type})")


def _encode(name: str, row: Row) -> dict[str, Any]:
    section = SECTIONS[name]
    out: dict[str, Any] = {}
    for column in section.columns:
        value = row[column]
        kind = _kind(section.column(column))
        if value is None:
            out[column] = None
        elif kind == "time":
            out[column] = value.astimezone(UTC).isoformat()
        elif kind == "bytes":
            out[column] = base64.b64encode(value).decode()
        else:
            out[column] = value
    return out


# ------------------------------------------------------------------ reading


def read_archive(data: bytes) -> tuple[Manifest, RoomRows]:
    """The manifest and the room's rows, checked (``ArchiveError`` otherwise)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ArchiveError("not a Roundtable room archive (not a ZIP file)") from None
    with archive:
        try:
            return _read(archive)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ArchiveError(f"the archive is damaged: {exc}") from None


def _member(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except KeyError:
        raise ArchiveError(f"the archive is damaged: {name} is missing") from None


def _json_object(data: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArchiveError(f"the archive is damaged: {name} is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ArchiveError(f"the archive is damaged: {name} is not a JSON object")
    return value


def _read(archive: zipfile.ZipFile) -> tuple[Manifest, RoomRows]:
    if "manifest.json" not in archive.namelist():
        raise ArchiveError("not a Roundtable room archive (it has no manifest.json)")
    if archive.getinfo("manifest.json").file_size > MAX_MANIFEST_BYTES:
        raise ArchiveError(
            f"not a Roundtable room archive (manifest.json is over {_size(MAX_MANIFEST_BYTES)})"
        )
    manifest = _json_object(archive.read("manifest.json"), "manifest.json")
    if manifest.get("format") != FORMAT:
        raise ArchiveError("not a Roundtable room archive (manifest.json names another format)")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ArchiveError(
            f"unknown archive format version {version!r}: this Roundtable reads version "
            f"{FORMAT_VERSION}"
        )
    listed = manifest.get("files")
    if not isinstance(listed, dict) or "room.json" not in listed:
        raise ArchiveError("the archive is damaged: manifest.json lists no files")
    _check_sizes(archive, listed)
    files: dict[str, bytes] = {}
    for name, expected in listed.items():
        data = _member(archive, name)
        digest = expected.get("sha256") if isinstance(expected, dict) else None
        if hashlib.sha256(data).hexdigest() != digest:
            raise ArchiveError(f"the archive is damaged: {name} does not match its checksum")
        files[name] = data
    rows = _rows(_json_object(files["room.json"], "room.json"), files)
    exported_at = manifest.get("exported_at")
    revision = manifest.get("schema_revision")
    return (
        Manifest(
            version,
            exported_at if isinstance(exported_at, str) else "",
            revision if isinstance(revision, str) else None,
            rows.room["slug"],
            rows.room["title"],
        ),
        rows,
    )


def _check_sizes(archive: zipfile.ZipFile, listed: dict[str, Any]) -> None:
    """Each listed member's size as the ZIP declares it is the manifest's, and all of
    them together stay under :data:`MAX_UNPACKED_BYTES`."""
    total = 0
    for name, expected in listed.items():
        try:
            declared = archive.getinfo(name).file_size
        except KeyError:
            raise ArchiveError(f"the archive is damaged: {name} is missing") from None
        size = expected.get("size") if isinstance(expected, dict) else None
        if declared != size:
            raise ArchiveError(f"the archive is damaged: {name} does not match its size")
        total += declared
    if total > MAX_UNPACKED_BYTES:
        raise ArchiveError(
            f"the archive unpacks to {_size(total)}, more than the {_size(MAX_UNPACKED_BYTES)} "
            "a room archive may hold"
        )


def _size(count: int) -> str:
    if count < 2**20:
        return f"{count} bytes"
    return f"{count / 2**20:.0f} MiB" if count < 2**30 else f"{count / 2**30:.1f} GiB"


class _Checker:
    """Turns room.json's records into rows, refusing what does not fit a column."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def record(self, name: str, value: object, where: str) -> Row:
        if not isinstance(value, dict):
            raise ArchiveError(f"{where} is not an object")
        section = SECTIONS[name]
        extra = _EXTRA.get(name, {})
        expected = set(section.columns) | set(extra)
        if set(value) != expected:
            wrong = sorted(set(value) ^ expected)
            raise ArchiveError(f"{where} has unexpected or missing fields: {', '.join(wrong)}")
        row: Row = {}
        for column in section.columns:
            row[column] = self.field(section.column(column), value[column], f"{where}.{column}")
        for field_name, kind in extra.items():
            row[field_name] = self.extra(kind, value[field_name], f"{where}.{field_name}")
        return row

    def field(self, column: Column[Any], value: object, where: str) -> Any:
        if value is None:
            if column.nullable:
                return None
            raise ArchiveError(f"{where} must not be null")
        kind = _kind(column)
        if kind == "time":
            if isinstance(value, str):
                try:
                    moment = datetime.fromisoformat(value)
                except ValueError:
                    pass
                else:
                    if moment.tzinfo is not None:
                        return moment
            raise ArchiveError(f"{where} is not a timestamp with an offset")
        if kind == "bytes":
            if isinstance(value, str):
                try:
                    return base64.b64decode(value, validate=True)
                except ValueError:
                    pass
            raise ArchiveError(f"{where} is not base64")
        if kind == "bool":
            if isinstance(value, bool):
                return value
            raise ArchiveError(f"{where} is not true or false")
        if kind == "int":
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
                return value
            raise ArchiveError(f"{where} is not an integer")
        length = getattr(column.type, "length", None)
        if not isinstance(value, str) or (length is not None and len(value) > length):
            raise ArchiveError(f"{where} is not a string of at most {length} characters")
        return value

    def extra(self, kind: str, value: object, where: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ArchiveError(f"{where} is not a string")
        if kind == "str" and len(value) > MAX_EXTRA_LENGTH:
            raise ArchiveError(f"{where} is longer than {MAX_EXTRA_LENGTH} characters")
        if kind == "file" and value not in self.files:
            raise ArchiveError(f"{where} names {value}, which the manifest does not list")
        return value


def _rows(document: dict[str, Any], files: dict[str, bytes]) -> RoomRows:
    check = _Checker(files)
    if set(document) != {"room", *_LISTS}:
        raise ArchiveError("room.json does not hold the sections of a room")
    rows = RoomRows(check.record("room", document["room"], "room"))
    if not SLUG.fullmatch(rows.room["slug"]):
        raise ArchiveError(f"room.slug {rows.room['slug']!r} is not a room slug")
    for name in _LISTS:
        records = document[name]
        if not isinstance(records, list):
            raise ArchiveError(f"{name} is not a list")
        rows.sections[name] = [
            check.record(name, record, f"{name}[{i}]") for i, record in enumerate(records)
        ]
    _check_references(rows)
    for document_row in rows["documents"]:
        if document_row["state"] is None:
            raise ArchiveError(f"document {document_row['name']!r} has no state")
        document_row["state"] = _state(files[document_row["state"]], document_row["state"])
    for version in rows["versions"]:
        if version["state"] is None:
            raise ArchiveError(f"version {version['name']!r} has no state")
        version["state"] = _state(files[version["state"]], version["state"])
    for thread in rows["threads"]:
        for end in ("anchor_start", "anchor_end"):
            if thread[end] is not None:
                try:
                    decode_relative_position(thread[end])
                except ProtocolError as exc:
                    raise ArchiveError(
                        f"thread {thread['id']}: {end} is no anchor ({exc})"
                    ) from None
    return rows


def _state(data: bytes, name: str) -> bytes:
    """A Yjs update, checked by the strict decoder before pycrdt (which panics on
    malformed bytes) applies it."""
    try:
        decode_update(data)
        Doc().apply_update(data)
    except (ProtocolError, ValueError, RuntimeError) as exc:
        raise ArchiveError(f"the archive is damaged: {name} is not a Yjs update ({exc})") from None
    return data


def _unique(rows: list[Row], key: str, what: str) -> set[Any]:
    seen: set[Any] = set()
    for row in rows:
        if row[key] in seen:
            raise ArchiveError(f"two {what} have the id {row[key]!r}")
        seen.add(row[key])
    return seen


def _check_references(rows: RoomRows) -> None:
    people = _unique(rows["people"], "id", "people")
    documents = _unique(rows["documents"], "id", "documents")
    threads = _unique(rows["threads"], "id", "threads")
    comments = _unique(rows["comments"], "id", "comments")
    _unique(rows["versions"], "id", "versions")

    def refer(name: str, key: str, known: set[Any], optional: bool = False) -> None:
        for i, row in enumerate(rows[name]):
            value = row[key]
            if value is None and optional:
                continue
            if value not in known:
                raise ArchiveError(
                    f"{name}[{i}].{key} names {value!r}, which is not in the archive"
                )

    # The room's spotlight, and who created or mentors a document, may name someone
    # no longer in the room: kept as they are.
    refer("claims", "document_id", documents)
    refer("claims", "participant_id", people)
    refer("versions", "document_id", documents)
    refer("threads", "document_id", documents, optional=True)
    refer("threads", "author_id", people)
    refer("threads", "accepted_comment_id", comments, optional=True)
    refer("comments", "thread_id", threads)
    refer("comments", "author_id", people)
    for name in ("reactions", "mentions"):
        refer(name, "comment_id", comments)
        refer(name, "participant_id", people)
    refer("activity", "document_id", documents)
    refer("presence", "participant_id", people)


__all__ = ["FORMAT_VERSION", "SLUG", "ArchiveError", "Manifest", "build_archive", "read_archive"]
