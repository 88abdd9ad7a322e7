"""Logging set-up: one handler on the root logger, with secrets redacted."""

from __future__ import annotations

import logging
import re
import sys

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


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
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
