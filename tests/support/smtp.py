"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, collecting what it receives.

The server runs in aiosmtpd's own thread and event loop; each message it accepts is
handed to the test's event loop (``call_soon_threadsafe``), where
:meth:`SmtpServer.next_message` waits for it. Options: require AUTH with one login and
password, offer STARTTLS or speak TLS from the first byte (with a certificate made by
:func:`make_certificate`), and refuse the next few messages with a temporary error.

Use the ``smtp_server`` fixture (a plain server, no AUTH, no TLS), or
``async with running_smtp_server(...) as server`` for the options.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import errno
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.timing import timeout

HOST = "127.0.0.1"
TlsMode = Literal["none", "starttls", "implicit"]

SIGN_IN_LINK = re.compile(r"https?://[^\s/]+(?:/[^\s/]+)*/sign-in/[A-Za-z0-9._~%+-]+")
CODE = re.compile(r"code: ([0-9]{3}) ?([0-9]{3})(?![0-9])")


@dataclass(frozen=True)
class Delivery:
    """One message the server accepted, with its envelope."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    # The AUTH login the client gave, None when it did not authenticate.
    login: str | None
    # The message travelled over TLS (STARTTLS, or TLS from the start).
    tls: bool
    message: EmailMessage


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and ``localhost``."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(directory: Path) -> Certificate:
    """A new self-signed certificate, made with the ``openssl`` command (skips the test
    when there is none)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=timeout(60),
    )
    return Certificate(cert=cert, key=key)


class SmtpServer:
    """aiosmtpd listening on 127.0.0.1 (see the module's docstring)."""

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        tls: TlsMode = "none",
        certificate: Certificate | None = None,
    ) -> None:
        if tls != "none" and certificate is None:
            raise ValueError("TLS needs a certificate (make_certificate)")
        self.credentials = credentials
        self.tls = tls
        self.certificate = certificate
        self.port = 0
        # Every message handed over so far, oldest first.
        self.received: list[Delivery] = []
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._lock = threading.Lock()
        self._refuse_count = 0
        self._refuse_reply = ""
        self._refused = 0
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        return f"{scheme}://{HOST}:{self.port}"

    def url_with(self, user: str, password: str) -> str:
        """:attr:`url` with credentials in it, percent-encoded."""
        scheme, rest = self.url.split("://", 1)
        return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}"

    @property
    def refused(self) -> int:
        """Messages refused on purpose (:meth:`refuse_next`) so far."""
        with self._lock:
            return self._refused

    def refuse_next(self, count: int, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer the next ``count`` messages' DATA with ``reply`` instead of accepting."""
        with self._lock:
            self._refuse_count = count
            self._refuse_reply = reply

    async def next_message(self, seconds: float = 10.0) -> EmailMessage:
        return (await self.next_delivery(seconds)).message

    async def next_delivery(self, seconds: float = 10.0) -> Delivery:
        """The next message accepted (in arrival order); fails after the timeout."""
        try:
            async with asyncio.timeout(timeout(seconds)):
                return await self._queue.get()
        except TimeoutError:
            raise AssertionError(
                f"no email reached the test SMTP server within {timeout(seconds):.1f}s"
            ) from None

    def waiting(self) -> int:
        """Messages accepted and not yet taken with :meth:`next_message`."""
        return self._queue.qsize()

    async def start(self) -> None:
        # Controller needs a known port (it connects to it once started): take a free
        # one, and take another if something else grabbed it in between.
        for attempt in range(5):
            self.port = _free_port()
            controller = self._controller_for(self.port)
            try:
                await asyncio.to_thread(controller.start)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or attempt == 4:
                    raise
                continue
            self._controller = controller
            return

    async def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            await asyncio.to_thread(controller.stop)

    def _controller_for(self, port: int) -> Controller:
        kwargs: dict[str, Any] = {}
        if self.certificate is not None and self.tls == "implicit":
            kwargs["ssl_context"] = self.certificate.server_context()
        if self.certificate is not None and self.tls == "starttls":
            kwargs["tls_context"] = self.certificate.server_context()
        if self.credentials is not None:
            kwargs["authenticator"] = self._authenticate
            # AUTH over a plain connection: this server runs on 127.0.0.1 only.
            kwargs["auth_require_tls"] = False
        return Controller(
            _Handler(self),
            hostname=HOST,
            port=port,
            server_hostname="smtp.test",
            ready_timeout=timeout(10),
            **kwargs,
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert self.credentials is not None
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = self.credentials
        if data.login == user.encode() and data.password == password.encode():
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    def _take_refusal(self) -> str | None:
        with self._lock:
            if self._refuse_count <= 0:
                return None
            self._refuse_count -= 1
            self._refused += 1
            return self._refuse_reply

    def _hand_over(self, delivery: Delivery) -> None:
        """Runs in the server's thread."""
        with contextlib.suppress(RuntimeError):  # the test's loop is gone: nobody waits
            self._loop.call_soon_threadsafe(self._arrived, delivery)

    def _arrived(self, delivery: Delivery) -> None:
        self.received.append(delivery)
        self._queue.put_nowait(delivery)


class _Handler:
    """aiosmtpd's handler: runs in the server's thread and event loop."""

    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.owner.credentials is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self.owner._take_refusal()
        if refusal is not None:
            return refusal
        raw = envelope.original_content
        if raw is None:
            assert isinstance(envelope.content, bytes)
            raw = envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        transport = server.transport
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        login = session.auth_data if session.authenticated else None
        self.owner._hand_over(
            Delivery(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                login=login if isinstance(login, str) else None,
                tls=tls,
                message=message,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def running_smtp_server(
    *,
    credentials: tuple[str, str] | None = None,
    tls: TlsMode = "none",
    certificate: Certificate | None = None,
) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(credentials=credentials, tls=tls, certificate=certificate)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def smtp_server() -> AsyncIterator[SmtpServer]:
    """A plain SMTP server of this test alone (no AUTH, no TLS): point
    ``ROUNDTABLE_SMTP_URL`` (``Settings.smtp_url``) at ``smtp_server.url``."""
    async with running_smtp_server() as server:
        yield server


def text_of(message: EmailMessage) -> str:
    """The message's plain-text part, with the wire's CRLF line ends made ``\\n``."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the email has no text/plain part"
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    """The message's HTML part, with the wire's CRLF line ends made ``\\n``."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the email has no text/html part"
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def link_in(message: EmailMessage) -> str:
    """The ``.../sign-in/<token>`` link in the message's text part."""
    found = SIGN_IN_LINK.findall(text_of(message))
    assert found, f"no sign-in link in the email:\n{text_of(message)}"
    assert len(set(found)) == 1, f"several different sign-in links in the email: {found}"
    link: str = found[0]
    return link


def code_in(message: EmailMessage) -> str:
    """The six-digit code in the message's text part (``code: 123456``)."""
    found = CODE.search(text_of(message))
    assert found, f"no sign-in code in the email:\n{text_of(message)}"
    return found.group(1) + found.group(2)
