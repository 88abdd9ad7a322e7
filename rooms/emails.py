"""Email addresses: checked and normalised once, so that one address is one account."""

from __future__ import annotations

from rooms.errors import Invalid

MAX_EMAIL_LENGTH = 254


def normalise_email(value: object) -> str:
    """``value`` as the address an account is keyed by, or a 422 ``invalid_email``.

    The syntax is checked by email-validator (no DNS lookup: a sign-in email that
    cannot be delivered simply never arrives); the domain is lower-cased and
    IDNA-normalised by it, and the local part is lower-cased too: mail providers treat
    ``Ana@`` and ``ana@`` as one mailbox, and two accounts for one person would be worse
    than none for the rare server that does not.
    """
    # Loaded with the first address checked: most processes never see one.
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(value, str):
        raise Invalid("invalid_email", "email must be a string")
    text = value.strip()
    if not text or len(text) > MAX_EMAIL_LENGTH:
        raise Invalid("invalid_email", "enter an email address such as ana@example.com")
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid("invalid_email", f"not an email address: {exc}") from None
    local, _, domain = checked.normalized.rpartition("@")
    return f"{local.lower()}@{domain.lower()}"


def email_domain(email: str) -> str:
    return email.rpartition("@")[2]
