"""Sending email: sign-in links, invitations.

:class:`SmtpMailer` hands one message to an SMTP server (``ROUNDTABLE_SMTP_URL``);
:class:`LogMailer` writes it to the log instead, for a server with no SMTP server
configured. :class:`Outbox` sits in front of either, so that a request never waits for
the SMTP server: it queues the message and one background task sends it, retrying
failures that may pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

log = logging.getLogger("roundtable.mail")

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
# Messages an Outbox holds at most; past that a message is dropped (and logged).
MAX_QUEUED = 10_000
_LINE_BREAKS = ("\r", "\n", "\x00")


@dataclass(frozen=True)
class MailMessage:
    """One email to one person: a plain-text body and the same content as HTML."""

    to: str
    subject: str
    text: str
    html: str

    def __post_init__(self) -> None:
        # Both end up in headers: a line break there would start a header of its own.
        for name in ("to", "subject"):
            value = getattr(self, name)
            if any(c in value for c in _LINE_BREAKS):
                raise ValueError(f"an email's {name} must be one line: {value!r}")
        if not self.to.strip():
            raise ValueError("an email needs a recipient")


class MailError(Exception):
    """A message could not be sent. ``permanent``: trying again will not help (the
    server refused the credentials, the sender or the recipient)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(Protocol):
    async def send(self, message: MailMessage) -> None:
        """Deliver ``message`` to the next hop, or raise :class:`MailError`."""
        ...


class SmtpMailer:
    """Sends through the SMTP server named by ``url``.

    ``smtp://user:password@host:port``: a plain connection, upgraded with STARTTLS when
    the server offers it (port 25 unless given). ``smtps://...``: TLS from the first
    byte (port 465 unless given). User and password are percent-decoded, so a password
    holding ``@`` or ``:`` is written ``%40`` or ``%3A``. ``tls_context`` replaces the
    system's trusted certificates (for a private certificate authority, and tests).
    """

    def __init__(
        self,
        url: str,
        sender: str,
        timeout: float = 10.0,
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ValueError(f"the SMTP URL must start with smtp:// or smtps://, not {scheme!r}")
        if not parts.hostname:
            raise ValueError("the SMTP URL names no host (smtp://host:port)")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"the SMTP URL's port is not a port number: {exc}") from None
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        if (username is None) != (password is None):
            raise ValueError("the SMTP URL needs both a user and a password, or neither")
        _, address = email.utils.parseaddr(sender)
        if "@" not in address:
            raise ValueError(f"the sender {sender!r} holds no email address")
        self.scheme = scheme
        self.host = parts.hostname
        self.port = port if port is not None else DEFAULT_PORTS[scheme]
        self.username = username
        self._password = password
        self.sender = sender
        self._envelope_sender = address
        self._domain = address.rpartition("@")[2]
        self.timeout = timeout
        self._tls_context = tls_context

    def __repr__(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        return f"SmtpMailer({self.scheme}://{user}{self.host}:{self.port})"

    def build(self, message: MailMessage) -> EmailMessage:
        """The message as it goes on the wire: text and HTML as alternatives."""
        built = EmailMessage()
        built["From"] = self.sender
        built["To"] = message.to
        built["Subject"] = message.subject
        built["Date"] = email.utils.format_datetime(datetime.now(UTC))
        built["Message-ID"] = email.utils.make_msgid(domain=self._domain)
        built.set_content(message.text)
        built.add_alternative(message.html, subtype="html")
        return built

    async def send(self, message: MailMessage) -> None:
        # Imported with the first email: a server that sends none does not load it.
        import aiosmtplib

        built = self.build(message)
        implicit_tls = self.scheme == "smtps"
        try:
            await aiosmtplib.send(
                built,
                sender=self._envelope_sender,
                recipients=[message.to],
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self._password,
                use_tls=implicit_tls,
                # None: STARTTLS when the server offers it. Never on top of smtps.
                start_tls=False if implicit_tls else None,
                tls_context=self._tls_context,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPResponseException as exc:
            raise MailError(
                f"{self.host}:{self.port} answered {exc.code} {exc.message}",
                permanent=500 <= exc.code < 600,
            ) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            raise MailError(
                f"{self.host}:{self.port} refused the recipient: {exc}",
                permanent=all(500 <= code < 600 for code in codes),
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailError(
                f"could not send through {self.host}:{self.port}: {type(exc).__name__}: {exc}"
            ) from exc


class LogMailer:
    """Writes each message to the log instead of sending it, so that a server with no
    SMTP server configured (``roundtable serve`` on a laptop) still shows its sign-in
    links and codes."""

    async def send(self, message: MailMessage) -> None:
        log.warning(
            "no SMTP server is configured (ROUNDTABLE_SMTP_URL); this email to %s "
            "was not sent:\nSubject: %s\n\n%s",
            message.to,
            message.subject,
            message.text,
        )


def mailer_for(smtp_url: str | None, sender: str) -> Mailer:
    """An :class:`SmtpMailer` for ``smtp_url``, or a :class:`LogMailer` without one."""
    if smtp_url is None or not smtp_url.strip():
        return LogMailer()
    return SmtpMailer(smtp_url, sender)


class Outbox:
    """Sends messages in the background, one at a time, in the order submitted.

    :meth:`submit` never waits. A failed send is tried again after ``first_delay``
    seconds, then twice that, and so on, ``retries`` times; a permanent failure (the
    server refused the recipient or the credentials) is not retried. The final failure
    is logged with the recipient and the error, never the message (it holds a sign-in
    link). ``sent`` and ``failed`` count messages.
    """

    def __init__(
        self,
        mailer: Mailer,
        retries: int = 3,
        first_delay: float = 1.0,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must not be negative")
        self.mailer = mailer
        self.retries = retries
        self.first_delay = first_delay
        self.sent = 0
        self.failed = 0
        self._max_queued = max_queued
        self._queue: asyncio.Queue[MailMessage] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._in_flight = 0

    @property
    def pending(self) -> int:
        """Messages submitted and neither sent nor given up on yet."""
        return 0 if self._queue is None else self._queue.qsize() + self._in_flight

    def start(self) -> None:
        """Starts the background task (``submit`` does this when needed); call it from
        the event loop that is to run it."""
        if self._closed:
            raise RuntimeError("this outbox is closed")
        if self._task is not None:
            return
        self._queue = asyncio.Queue(self._max_queued)
        self._task = asyncio.get_running_loop().create_task(self._run(self._queue))
        self._task.add_done_callback(self._stopped)

    def submit(self, message: MailMessage) -> None:
        """Queues ``message`` for sending and returns at once."""
        if self._closed:
            self.failed += 1
            log.error("the outbox is closed; an email to %s was not sent", message.to)
            return
        self.start()
        assert self._queue is not None
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.failed += 1
            log.error(
                "%d emails are waiting to be sent; an email to %s was dropped",
                self._queue.qsize(),
                message.to,
            )

    async def drained(self) -> None:
        """Returns once every message submitted so far is sent or given up on."""
        if self._queue is not None:
            await self._queue.join()

    async def close(self, grace: float = 5.0) -> None:
        """Waits up to ``grace`` seconds for the queue to empty, then stops."""
        self._closed = True
        task, queue = self._task, self._queue
        if task is None or queue is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await queue.join()
        unsent = queue.qsize() + self._in_flight
        if unsent:
            self.failed += unsent
            log.error("stopping with %d emails not sent", unsent)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        while not queue.empty():
            queue.get_nowait()
            queue.task_done()

    async def _run(self, queue: asyncio.Queue[MailMessage]) -> None:
        while True:
            message = await queue.get()
            self._in_flight = 1
            try:
                await self._deliver(message)
            finally:
                self._in_flight = 0
                queue.task_done()

    async def _deliver(self, message: MailMessage) -> None:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                await self.mailer.send(message)
            except MailError as exc:
                if exc.permanent or attempt == attempts:
                    self.failed += 1
                    log.error(
                        "could not send an email to %s (attempt %d of %d): %s",
                        message.to,
                        attempt,
                        attempts,
                        exc,
                    )
                    return
                delay = self.first_delay * 2 ** (attempt - 1)
                log.warning(
                    "sending an email to %s failed (attempt %d of %d), trying again in %g s: %s",
                    message.to,
                    attempt,
                    attempts,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)
            except Exception:
                self.failed += 1
                log.exception("sending an email to %s failed unexpectedly", message.to)
                return
            else:
                self.sent += 1
                return

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("the outbox stopped", exc_info=task.exception())
