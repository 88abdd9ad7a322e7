"""The emails the server sends, in English: each as plain text and as simple HTML.

Every value put into a message is first made one line (a room title with a line break
in it cannot start a header of its own, or fake a paragraph), and escaped in the HTML.
The HTML uses inline styles only and loads nothing from elsewhere.
"""

from __future__ import annotations

import html
import re

from server.mail import MailMessage

PRODUCT = "Roundtable"
ACCENT = "#1f5fbf"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CODE = re.compile(r"[0-9]{6}")


def one_line(value: str) -> str:
    """``value`` with every run of whitespace (line breaks included) made one space,
    and other control characters removed."""
    return _CONTROL.sub("", " ".join(value.split()))


def grouped_code(code: str) -> str:
    """``123456`` as ``123 456``, easier to read and retype."""
    return f"{code[:3]} {code[3:]}"


def sign_in_message(to: str, link: str, code: str, minutes: int) -> MailMessage:
    """The email that signs a person in (or up): a link, and a code to type instead."""
    _check_code(code)
    link = _check_link(link)
    expiry = f"The link and the code expire in {_plural(minutes, 'minute')}."
    text = "\n".join(
        [
            f"Sign in to {PRODUCT} with this link:",
            "",
            link,
            "",
            f"Or enter this code: {code}",
            "",
            expiry,
            "",
            "If you did not ask to sign in, ignore this email.",
            "",
        ]
    )
    body = [
        _paragraph(f"Sign in to {PRODUCT} with this button:"),
        _button(link, f"Sign in to {PRODUCT}"),
        _paragraph("Or enter this code:"),
        _code_block(code),
        _paragraph(expiry),
        _small("If you did not ask to sign in, ignore this email."),
        _link_fallback(link),
    ]
    subject = f"Your {PRODUCT} sign-in code: {grouped_code(code)}"
    return MailMessage(to=to.strip(), subject=subject, text=text, html=_page(subject, body))


def invitation_message(
    to: str, inviter_name: str, room_title: str, role_label: str, link: str, days: int
) -> MailMessage:
    """A facilitator invites ``to`` into a room: the link signs them in and seats them."""
    inviter, room, role = one_line(inviter_name), one_line(room_title), one_line(role_label)
    to = to.strip()
    link = _check_link(link)
    lead = f"{inviter} invited you to {room} on {PRODUCT}."
    validity = (
        f"The link works for {_plural(days, 'day')} and signs you in as {to}; no password needed."
    )
    ignore = "If you were not expecting this invitation, you can ignore this email."
    text = "\n".join(
        [
            lead,
            f"Your role: {role}",
            "",
            "Open this link to join:",
            "",
            link,
            "",
            validity,
            "",
            ignore,
            "",
        ]
    )
    body = [
        _paragraph(
            f"<strong>{_e(inviter)}</strong> invited you to <strong>{_e(room)}</strong>"
            f" on {PRODUCT}.",
            escaped=True,
        ),
        _paragraph(f"Your role: {role}"),
        _button(link, f"Join {room}"),
        _paragraph(validity),
        _small(ignore),
        _link_fallback(link),
    ]
    subject = f"{inviter} invited you to {room} on {PRODUCT}"
    return MailMessage(to=to, subject=subject, text=text, html=_page(subject, body))


def keep_seat_message(
    to: str, name: str, room_title: str, link: str, code: str, minutes: int
) -> MailMessage:
    """A guest gave their email to keep their seat: confirming it makes them an account."""
    _check_code(code)
    person, room = one_line(name), one_line(room_title)
    link = _check_link(link)
    lead = (
        f"Hi {person}, confirm this email address to keep your seat in {room} "
        f"and find it again from any device."
    )
    expiry = f"The link and the code expire in {_plural(minutes, 'minute')}."
    ignore = "If you did not ask for this, ignore this email."
    text = "\n".join(
        [
            lead,
            "",
            "Confirm with this link:",
            "",
            link,
            "",
            f"Or enter this code: {code}",
            "",
            expiry,
            "",
            ignore,
            "",
        ]
    )
    body = [
        _paragraph(lead),
        _button(link, "Confirm my email"),
        _paragraph("Or enter this code:"),
        _code_block(code),
        _paragraph(expiry),
        _small(ignore),
        _link_fallback(link),
    ]
    subject = f"Confirm your email to keep your seat in {room}"
    return MailMessage(to=to.strip(), subject=subject, text=text, html=_page(subject, body))


def _check_code(code: str) -> None:
    if not _CODE.fullmatch(code):
        raise ValueError("a sign-in code is six digits")


def _check_link(link: str) -> str:
    link = link.strip()
    if not link.startswith(("https://", "http://")) or any(c.isspace() for c in link):
        raise ValueError(f"an email link must be an http(s) URL: {link!r}")
    return link


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _paragraph(content: str, escaped: bool = False) -> str:
    inner = content if escaped else _e(content)
    return f'<p style="margin:0 0 16px 0;font-size:16px;line-height:1.5;">{inner}</p>'


def _small(content: str) -> str:
    return (
        '<p style="margin:0 0 16px 0;font-size:14px;line-height:1.5;color:#555555;">'
        f"{_e(content)}</p>"
    )


def _button(link: str, label: str) -> str:
    return (
        '<p style="margin:24px 0;">'
        f'<a href="{_e(link)}" style="display:inline-block;background:{ACCENT};'
        "color:#ffffff;font-size:18px;font-weight:bold;text-decoration:none;"
        f'padding:14px 28px;border-radius:6px;">{_e(label)}</a></p>'
    )


def _code_block(code: str) -> str:
    return (
        '<p style="margin:0 0 24px 0;font-family:Menlo,Consolas,monospace;font-size:28px;'
        f'font-weight:bold;letter-spacing:6px;color:#111111;">{_e(code)}</p>'
    )


def _link_fallback(link: str) -> str:
    return (
        '<p style="margin:24px 0 0 0;font-size:13px;line-height:1.5;color:#555555;">'
        "If the button does not work, copy this address into your browser:<br>"
        f'<a href="{_e(link)}" style="color:{ACCENT};word-break:break-all;">{_e(link)}</a></p>'
    )


def _page(title: str, body: list[str]) -> str:
    content = "\n".join(body)
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background:#f4f5f7;">\n'
        '<div style="max-width:560px;margin:0 auto;padding:32px 24px;background:#ffffff;'
        "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,"
        'sans-serif;color:#111111;">\n'
        f'<p style="margin:0 0 24px 0;font-size:20px;font-weight:bold;">{PRODUCT}</p>\n'
        f"{content}\n"
        "</div>\n</body>\n</html>\n"
    )
