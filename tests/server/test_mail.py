"""Email: the messages (server/mail_messages.py), and sending them (server/mail.py)
through a real SMTP server (aiosmtpd, tests/support/smtp.py): plain, with AUTH, with
STARTTLS and TLS from the start, refused, unreachable; the Outbox's retries; the log
instead of SMTP."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from server.mail import LogMailer, MailError, MailMessage, Outbox, SmtpMailer, mailer_for
from server.mail_messages import (
    invitation_message,
    keep_seat_message,
    one_line,
    sign_in_message,
)
from tests.support import smtp as smtp_support
from tests.support.smtp import (
    Certificate,
    SmtpServer,
    code_in,
    html_of,
    link_in,
    make_certificate,
    running_smtp_server,
    text_of,
)
from tests.support.timing import timeout

SENDER = "Roundtable <roundtable@example.org>"
LINK = "https://rt.example.org/sign-in/AbC-123_xyz"
CODE = "042917"


# The fixture, here as well as wherever conftest.py registers it.
smtp_server = smtp_support.smtp_server


def sign_in(to: str = "ann@example.org") -> MailMessage:
    return sign_in_message(to, LINK, CODE, 15)


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return make_certificate(tmp_path)


def _unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- the messages ---------------------------------------------------------------


def test_the_sign_in_message_holds_the_link_the_code_and_the_expiry() -> None:
    message = sign_in("ann@example.org")
    assert message.to == "ann@example.org"
    assert message.subject == "Your Roundtable sign-in code: 042 917"
    assert message.text == (
        "Sign in to Roundtable with this link:\n\n"
        f"{LINK}\n\n"
        "Or enter this code: 042917\n\n"
        "The link and the code expire in 15 minutes.\n\n"
        "If you did not ask to sign in, ignore this email.\n"
    )
    assert f'<a href="{LINK}"' in message.html
    assert ">042917</p>" in message.html
    assert "expire in 15 minutes" in message.html
    assert "If you did not ask to sign in, ignore this email." in message.html
    assert sign_in_message("a@b.org", LINK, CODE, 1).text.count("expire in 1 minute.") == 1


def test_the_invitation_names_the_inviter_the_room_the_role_and_the_days() -> None:
    message = invitation_message(
        "bob@example.org", "Fay Facilitator", "Style guide sprint", "Member", LINK, 7
    )
    assert message.subject == "Fay Facilitator invited you to Style guide sprint on Roundtable"
    assert message.text.startswith(
        "Fay Facilitator invited you to Style guide sprint on Roundtable.\n"
        "Your role: Member\n\n"
        f"Open this link to join:\n\n{LINK}\n\n"
        "The link works for 7 days and signs you in as bob@example.org; no password needed."
    )
    assert "Join Style guide sprint</a>" in message.html
    assert "works for 1 day " in invitation_message("b@c.org", "F", "R", "Member", LINK, 1).text


def test_the_keep_seat_message_asks_to_confirm_the_email() -> None:
    message = keep_seat_message("gus@example.org", "Gus", "Cohort 4", LINK, CODE, 15)
    assert message.subject == "Confirm your email to keep your seat in Cohort 4"
    assert message.text.startswith(
        "Hi Gus, confirm this email address to keep your seat in Cohort 4 and find it "
        "again from any device.\n\nConfirm with this link:\n\n" + LINK
    )
    assert "Or enter this code: 042917\n" in message.text
    assert "Confirm my email</a>" in message.html


def test_every_value_in_the_html_is_escaped() -> None:
    link = "https://rt.example.org/sign-in/t?a=1&b=<2>"
    message = invitation_message(
        "bob@example.org", '<script>alert("x")</script>', "R&D <b>", "Member & co", link, 7
    )
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in message.html
    assert "R&amp;D &lt;b&gt;" in message.html
    assert "<b>" not in message.html
    assert "Member &amp; co" in message.html
    assert 'href="https://rt.example.org/sign-in/t?a=1&amp;b=&lt;2&gt;"' in message.html
    # The plain text keeps them as they are.
    assert '<script>alert("x")</script> invited you to R&D <b>' in message.text
    # No image or style sheet is loaded from anywhere.
    for html in (
        message.html,
        sign_in().html,
        keep_seat_message("a@b.org", "<i>", "R", link, CODE, 5).html,
    ):
        assert "<img" not in html
        assert "<link" not in html
        assert "url(" not in html
        assert "<i>" not in html


def test_line_breaks_in_values_never_reach_a_subject() -> None:
    message = invitation_message(
        "bob@example.org", "Eve\r\nBcc: x@evil.test", "Plan\nX-Spam: yes", "Member", LINK, 7
    )
    assert message.subject == "Eve Bcc: x@evil.test invited you to Plan X-Spam: yes on Roundtable"
    assert "\r" not in message.text
    assert "Eve Bcc: x@evil.test invited you to Plan X-Spam: yes on Roundtable." in message.text
    seat = keep_seat_message("a@b.org", "G\u2028us", "Room\r\n\tTwo\x00", LINK, CODE, 5)
    assert seat.subject == "Confirm your email to keep your seat in Room Two"
    assert seat.text.startswith("Hi G us, ")
    assert one_line(" a\r\n\r\n b\x07 ") == "a b"


def test_a_message_with_a_line_break_in_a_header_is_refused() -> None:
    with pytest.raises(ValueError, match="subject must be one line"):
        MailMessage(to="a@b.org", subject="Hi\r\nBcc: x@evil.test", text="", html="")
    with pytest.raises(ValueError, match="to must be one line"):
        MailMessage(to="a@b.org\nBcc: x@evil.test", subject="Hi", text="", html="")
    with pytest.raises(ValueError, match="to must be one line"):
        sign_in_message("a@b.org\r\nBcc: x@evil.test", LINK, CODE, 15)
    with pytest.raises(ValueError, match="needs a recipient"):
        MailMessage(to=" ", subject="Hi", text="", html="")


@pytest.mark.parametrize("code", ["12345", "1234567", "12345a", "123 456", ""])
def test_a_code_is_six_digits(code: str) -> None:
    with pytest.raises(ValueError, match="six digits"):
        sign_in_message("a@b.org", LINK, code, 15)
    with pytest.raises(ValueError, match="six digits"):
        keep_seat_message("a@b.org", "Gus", "Room", LINK, code, 15)


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "ftp://x.org/sign-in/t", "https://x.org/a b", "/sign-in/t"]
)
def test_a_link_is_an_http_url(link: str) -> None:
    with pytest.raises(ValueError, match="must be an http"):
        sign_in_message("a@b.org", link, CODE, 15)
    with pytest.raises(ValueError, match="must be an http"):
        invitation_message("a@b.org", "F", "R", "Member", link, 7)


# --- SMTP round trips ------------------------------------------------------------


async def test_a_sign_in_email_arrives_with_its_text_and_html(smtp_server: SmtpServer) -> None:
    message = sign_in("ann@example.org")
    await SmtpMailer(smtp_server.url, SENDER).send(message)

    delivery = await smtp_server.next_delivery()
    assert delivery.mail_from == "roundtable@example.org"
    assert delivery.rcpt_tos == ("ann@example.org",)
    assert delivery.login is None
    assert delivery.tls is False
    received = delivery.message
    assert received["From"] == SENDER
    assert received["To"] == "ann@example.org"
    assert received["Subject"] == "Your Roundtable sign-in code: 042 917"
    assert received.get_content_type() == "multipart/alternative"
    assert re.fullmatch(r"<[^@<>\s]+@example\.org>", received["Message-ID"])
    sent_at = email.utils.parsedate_to_datetime(received["Date"])
    assert sent_at.tzinfo is not None
    assert text_of(received) == message.text
    assert html_of(received) == message.html
    assert link_in(received) == LINK
    assert code_in(received) == CODE
    assert smtp_server.waiting() == 0
    assert smtp_server.received == [delivery]


async def test_two_emails_get_different_message_ids(smtp_server: SmtpServer) -> None:
    mailer = SmtpMailer(smtp_server.url, SENDER)
    await mailer.send(sign_in())
    await mailer.send(sign_in())
    first, second = await smtp_server.next_message(), await smtp_server.next_message()
    assert first["Message-ID"] != second["Message-ID"]


async def test_non_ascii_names_survive_the_trip(smtp_server: SmtpServer) -> None:
    sender = "Zoë Tablé <rt@example.org>"
    message = invitation_message(
        "bob@example.org", "Renée Ødegård", "Café ☕ 東京", "Membre", LINK, 7
    )
    await SmtpMailer(smtp_server.url, sender).send(message)
    received = await smtp_server.next_message()
    assert received["Subject"] == "Renée Ødegård invited you to Café ☕ 東京 on Roundtable"
    assert received["From"].addresses[0].display_name == "Zoë Tablé"
    assert received["From"].addresses[0].addr_spec == "rt@example.org"
    assert text_of(received) == message.text
    assert "Renée Ødegård" in html_of(received)
    assert link_in(received) == LINK


async def test_a_line_break_in_a_room_title_adds_no_header(smtp_server: SmtpServer) -> None:
    message = invitation_message(
        "bob@example.org",
        "Fay",
        "Plan\r\nBcc: eve@evil.test\r\nX-Injected: yes",
        "Member",
        LINK,
        7,
    )
    await SmtpMailer(smtp_server.url, SENDER).send(message)
    delivery = await smtp_server.next_delivery()
    assert delivery.rcpt_tos == ("bob@example.org",)
    received = delivery.message
    assert received["Bcc"] is None
    assert received["X-Injected"] is None
    # Too long for the first line, the subject is folded onto the next one; Python's
    # parser keeps the fold's space.
    assert received["Subject"].lstrip() == (
        "Fay invited you to Plan Bcc: eve@evil.test X-Injected: yes on Roundtable"
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: sign_in_message("c@example.org", LINK, CODE, 15),
        lambda: keep_seat_message("c@example.org", "Gus", "Cohort", LINK, CODE, 15),
    ],
    ids=["sign-in", "keep-seat"],
)
async def test_the_link_and_code_can_be_read_back(
    smtp_server: SmtpServer, build: Callable[[], MailMessage]
) -> None:
    message = build()
    await SmtpMailer(smtp_server.url, SENDER).send(message)
    received = await smtp_server.next_message()
    assert received["Subject"] == message.subject
    assert link_in(received) == LINK
    assert code_in(received) == CODE
    assert html_of(received) == message.html


async def test_credentials_in_the_url_sign_in_to_the_server() -> None:
    user, password = "mailer@example.org", "p@ss:wörd/%?#"
    async with running_smtp_server(credentials=(user, password)) as server:
        url = server.url_with(user, password)
        assert "p%40ss%3Aw%C3%B6rd%2F%25%3F%23" in url
        await SmtpMailer(url, SENDER).send(sign_in())
        delivery = await server.next_delivery()
        assert delivery.login == user
        assert delivery.message["Subject"] == "Your Roundtable sign-in code: 042 917"


async def test_a_wrong_password_is_a_permanent_mail_error() -> None:
    async with running_smtp_server(credentials=("mailer", "right")) as server:
        with pytest.raises(MailError, match="535") as raised:
            await SmtpMailer(server.url_with("mailer", "wrong"), SENDER).send(sign_in())
        assert raised.value.permanent
        assert "wrong" not in str(raised.value)
        assert server.received == []


async def test_no_credentials_where_the_server_wants_them_is_a_mail_error() -> None:
    async with running_smtp_server(credentials=("mailer", "right")) as server:
        with pytest.raises(MailError, match="530") as raised:
            await SmtpMailer(server.url, SENDER).send(sign_in())
        assert raised.value.permanent
        assert server.received == []


async def test_an_unreachable_server_is_a_temporary_mail_error() -> None:
    port = _unused_port()
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=timeout(5))
    with pytest.raises(MailError, match=f"127.0.0.1:{port}") as raised:
        await mailer.send(sign_in())
    assert not raised.value.permanent


async def test_starttls_is_used_when_the_server_offers_it(certificate: Certificate) -> None:
    async with running_smtp_server(tls="starttls", certificate=certificate) as server:
        assert server.url.startswith("smtp://")
        mailer = SmtpMailer(server.url, SENDER, tls_context=certificate.client_context())
        await mailer.send(sign_in())
        delivery = await server.next_delivery()
        assert delivery.tls is True
        assert link_in(delivery.message) == LINK


async def test_starttls_checks_the_certificate(certificate: Certificate) -> None:
    async with running_smtp_server(tls="starttls", certificate=certificate) as server:
        # The system's certificate authorities do not know this self-signed certificate.
        with pytest.raises(MailError, match=r"(?i)certificate"):
            await SmtpMailer(server.url, SENDER).send(sign_in())
        assert server.received == []


async def test_smtps_speaks_tls_from_the_start(certificate: Certificate) -> None:
    async with running_smtp_server(tls="implicit", certificate=certificate) as server:
        assert server.url.startswith("smtps://")
        mailer = SmtpMailer(server.url, SENDER, tls_context=certificate.client_context())
        await mailer.send(sign_in())
        delivery = await server.next_delivery()
        assert delivery.tls is True
        assert code_in(delivery.message) == CODE
        # A plain smtp:// client cannot talk to it.
        plain = SmtpMailer(server.url.replace("smtps://", "smtp://"), SENDER, timeout=0.3)
        with pytest.raises(MailError):
            await plain.send(sign_in())
        assert len(server.received) == 1


# --- the outbox ------------------------------------------------------------------


async def test_the_outbox_retries_a_refused_message_and_delivers_it(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_server.refuse_next(1)
    outbox = Outbox(SmtpMailer(smtp_server.url, SENDER), retries=3, first_delay=0.01)
    caplog.set_level(logging.INFO, logger="roundtable.mail")
    try:
        outbox.submit(sign_in("ann@example.org"))
        received = await smtp_server.next_message()
        assert link_in(received) == LINK
        await outbox.drained()
        assert smtp_server.refused == 1
        assert (outbox.sent, outbox.failed, outbox.pending) == (1, 0, 0)
        retried = [r for r in caplog.records if r.name == "roundtable.mail"]
        assert [r.levelno for r in retried] == [logging.WARNING]
        assert "ann@example.org" in retried[0].getMessage()
        assert "451" in retried[0].getMessage()
        assert LINK not in caplog.text
        assert CODE not in caplog.text
    finally:
        await outbox.close()


async def test_the_outbox_gives_up_after_its_retries(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_server.refuse_next(10)
    outbox = Outbox(SmtpMailer(smtp_server.url, SENDER), retries=2, first_delay=0.01)
    try:
        outbox.submit(sign_in("ann@example.org"))
        await asyncio.wait_for(outbox.drained(), timeout(10))
        assert smtp_server.refused == 3
        assert (outbox.sent, outbox.failed) == (0, 1)
        mine = [r for r in caplog.records if r.name == "roundtable.mail"]
        retries = [r.getMessage() for r in mine if r.levelno == logging.WARNING]
        assert len(retries) == 2
        assert "(attempt 1 of 3), trying again in 0.01 s" in retries[0]
        assert "(attempt 2 of 3), trying again in 0.02 s" in retries[1]
        errors = [r for r in mine if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert "ann@example.org" in errors[0].getMessage()
        assert "attempt 3 of 3" in errors[0].getMessage()
        assert LINK not in caplog.text
        assert CODE not in caplog.text
        # The next message goes through.
        smtp_server.refuse_next(0)
        outbox.submit(sign_in("bob@example.org"))
        assert (await smtp_server.next_message())["To"] == "bob@example.org"
        await outbox.drained()
        assert (outbox.sent, outbox.failed) == (1, 1)
    finally:
        await outbox.close()


class FakeMailer:
    """Fails as told, records what it was asked to send, and can be held up."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.attempts: list[MailMessage] = []
        self.sent: list[MailMessage] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()

    async def send(self, message: MailMessage) -> None:
        self.attempts.append(message)
        self.entered.set()
        await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)


async def test_a_permanent_failure_is_not_retried() -> None:
    mailer = FakeMailer([MailError("550 no such user", permanent=True)])
    outbox = Outbox(mailer, retries=3, first_delay=0.001)
    outbox.submit(sign_in())
    await asyncio.wait_for(outbox.drained(), timeout(5))
    assert len(mailer.attempts) == 1
    assert (outbox.sent, outbox.failed) == (0, 1)
    await outbox.close()


async def test_submit_does_not_wait_and_messages_go_in_order() -> None:
    mailer = FakeMailer()
    mailer.gate.clear()
    outbox = Outbox(mailer)
    first, second = sign_in("a@example.org"), sign_in("b@example.org")
    outbox.submit(first)
    outbox.submit(second)
    assert outbox.pending == 2
    await asyncio.wait_for(mailer.entered.wait(), timeout(5))
    assert mailer.attempts == [first]
    mailer.gate.set()
    await asyncio.wait_for(outbox.drained(), timeout(5))
    assert mailer.sent == [first, second]
    assert (outbox.sent, outbox.failed, outbox.pending) == (2, 0, 0)
    await outbox.close()


async def test_an_unexpected_error_loses_one_message_not_the_outbox(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mailer = FakeMailer([RuntimeError("a bug")])
    outbox = Outbox(mailer, retries=3, first_delay=0.001)
    outbox.submit(sign_in("a@example.org"))
    outbox.submit(sign_in("b@example.org"))
    await asyncio.wait_for(outbox.drained(), timeout(5))
    assert [m.to for m in mailer.sent] == ["b@example.org"]
    assert (outbox.sent, outbox.failed) == (1, 1)
    assert "a bug" in caplog.text
    await outbox.close()


async def test_close_sends_what_is_queued(smtp_server: SmtpServer) -> None:
    outbox = Outbox(SmtpMailer(smtp_server.url, SENDER))
    outbox.submit(sign_in("a@example.org"))
    outbox.submit(sign_in("b@example.org"))
    await outbox.close()
    assert (outbox.sent, outbox.failed) == (2, 0)
    recipients = [(await smtp_server.next_message())["To"] for _ in range(2)]
    assert recipients == ["a@example.org", "b@example.org"]


async def test_close_gives_up_on_a_stuck_send(caplog: pytest.LogCaptureFixture) -> None:
    mailer = FakeMailer()
    mailer.gate.clear()
    outbox = Outbox(mailer)
    outbox.submit(sign_in("a@example.org"))
    outbox.submit(sign_in("b@example.org"))
    await asyncio.wait_for(outbox.close(grace=0.05), timeout(5))
    assert (outbox.sent, outbox.failed) == (0, 2)
    assert "stopping with 2 emails not sent" in caplog.text
    # Closed: a later message is counted as failed, not queued.
    outbox.submit(sign_in("c@example.org"))
    assert (outbox.failed, outbox.pending) == (3, 0)
    assert len(mailer.attempts) == 1


async def test_a_full_outbox_drops_the_message(caplog: pytest.LogCaptureFixture) -> None:
    mailer = FakeMailer()
    mailer.gate.clear()
    outbox = Outbox(mailer, max_queued=1)
    outbox.submit(sign_in("a@example.org"))
    await asyncio.wait_for(mailer.entered.wait(), timeout(5))
    outbox.submit(sign_in("b@example.org"))
    outbox.submit(sign_in("c@example.org"))
    assert outbox.failed == 1
    assert "an email to c@example.org was dropped" in caplog.text
    mailer.gate.set()
    await asyncio.wait_for(outbox.drained(), timeout(5))
    assert [m.to for m in mailer.sent] == ["a@example.org", "b@example.org"]
    await outbox.close()


# --- without SMTP ----------------------------------------------------------------


async def test_the_log_mailer_prints_the_link_and_code(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="roundtable.mail")
    await LogMailer().send(sign_in("ann@example.org"))
    [record] = [r for r in caplog.records if r.name == "roundtable.mail"]
    assert record.levelno == logging.WARNING
    lines = record.getMessage().splitlines()
    assert lines[0] == (
        "no SMTP server is configured (ROUNDTABLE_SMTP_URL); this email to "
        "ann@example.org was not sent:"
    )
    assert lines[1] == "Subject: Your Roundtable sign-in code: 042 917"
    assert LINK in lines
    assert "Or enter this code: 042917" in lines


async def test_an_outbox_over_the_log_mailer_counts_it_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox = Outbox(mailer_for(None, SENDER))
    outbox.submit(sign_in())
    await asyncio.wait_for(outbox.drained(), timeout(5))
    assert outbox.sent == 1
    assert LINK in caplog.text
    await outbox.close()


# --- configuration ---------------------------------------------------------------


def test_mailer_for_picks_the_log_without_an_smtp_url() -> None:
    assert isinstance(mailer_for(None, SENDER), LogMailer)
    assert isinstance(mailer_for("", SENDER), LogMailer)
    assert isinstance(mailer_for("  ", SENDER), LogMailer)


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "user"),
    [
        ("smtp://mail.example.org", "smtp", "mail.example.org", 25, None),
        ("smtps://mail.example.org", "smtps", "mail.example.org", 465, None),
        ("SMTP://mail.example.org:587", "smtp", "mail.example.org", 587, None),
        (
            "smtps://u%40x.org:p%3Aw@mail.example.org:2465",
            "smtps",
            "mail.example.org",
            2465,
            "u@x.org",
        ),
        ("smtp://user:pw@[::1]:2525", "smtp", "::1", 2525, "user"),
    ],
)
def test_mailer_for_reads_the_smtp_url(
    url: str, scheme: str, host: str, port: int, user: str | None
) -> None:
    mailer = mailer_for(url, SENDER)
    assert isinstance(mailer, SmtpMailer)
    assert (mailer.scheme, mailer.host, mailer.port, mailer.username) == (scheme, host, port, user)
    assert "p%3Aw" not in repr(mailer)
    assert "p:w" not in repr(mailer)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://mail.example.org", "smtp:// or smtps://"),
        ("mail.example.org:25", "smtp:// or smtps://"),
        ("smtp://", "no host"),
        ("smtp://:25", "no host"),
        ("smtp://mail.example.org:port", "not a port number"),
        ("smtp://mail.example.org:99999", "not a port number"),
        ("smtp://user@mail.example.org", "both a user and a password"),
        ("smtp://:secret@mail.example.org", "both a user and a password"),
    ],
)
def test_a_bad_smtp_url_is_refused(url: str, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        SmtpMailer(url, SENDER)


def test_a_sender_without_an_address_is_refused() -> None:
    with pytest.raises(ValueError, match="holds no email address"):
        SmtpMailer("smtp://mail.example.org", "Roundtable")
