"""Logging set-up: one handler on the root logger, with secrets redacted, writing
readable lines (``text``) or one JSON object a line (``json``)."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from server import log_context

FORMATS = ("text", "json")

_SECRET_PATTERNS = [
    (re.compile(r"(token=)[^&\s\"']+"), r"\1[redacted]"),
    (re.compile(r"(/join/)[^/\s\"'?#]+"), r"\1[redacted]"),
    (re.compile(r"(Bearer )[^\s\"',;]+"), r"\1[redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites every record so tokens and invite codes never reach the log output.

    uvicorn logs WebSocket paths with their query string, which carries the token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        # An exception's text is formatted once and kept in ``exc_text``: format it
        # here, redacted, so the handler prints that.
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FORMATTER = logging.Formatter()


class JsonLines(logging.Formatter):
    """One JSON object a record: ``time`` (ISO 8601, UTC), ``level``, ``logger``,
    ``message``, ``exception`` when there is one, and the ids of
    :mod:`server.log_context` that are set (``request_id``, ``connection_id``,
    ``room``, ``document``).

    It formats what :class:`RedactSecrets` left: the message and exception text are
    already redacted when they get here.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(log_context.current())
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: str = "text") -> None:
    if log_format not in FORMATS:
        raise ValueError(
            f"ROUNDTABLE_LOG_FORMAT={log_format!r}: choose one of {', '.join(FORMATS)}"
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLines()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic narrates every start at INFO even when there is nothing to migrate.
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
    logging.getLogger("aiosqlite").setLevel(max(root.level, logging.INFO))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
