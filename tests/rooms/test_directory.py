"""The checks of what people type and send: ``clean_text``, ``is_code``, ``document_name``.

``clean_text`` is the one check of free text (names, titles, labels, comment bodies,
quotes); the HTTP tests of every field that uses it are in
``tests/server/http/test_text_inputs.py``.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rooms.directory import clean_text, document_name, is_code
from rooms.errors import Invalid

PROPERTY = settings(database=None, max_examples=1000)

# Refused on one line (a name, max 64) and in multiline text (a body) alike.
REFUSED_EVERYWHERE: dict[str, object] = {
    "lone high surrogate": "Caf\ud800",
    "lone low surrogate": "\udc80x",
    "surrogate pair as two code points": "\ud83d\ude00",
    "surrogateescape byte (CLI argv)": "Caf\udcc3",
    "NUL": "a\x00b",
    "BEL": "ring \x07 ring",
    "ESC": "\x1b[31mred",
    "DEL": "a\x7fb",
    "lone CR": "a\rb",
    "C1 control NEL inside": "a\x85b",
    "C1 control CSI": "a\x9bb",
    "bidi override RLO": "file\u202etxt.exe",
    "bidi override LRO": "a\u202db",
    "bidi embedding LRE": "a\u202ab",
    "bidi pop PDF": "a\u202cb",
    "bidi isolate LRI": "a\u2066b",
    "bidi isolate PDI": "a\u2069b",
    "empty": "",
    "whitespace only": " \t  ",
    "number": 5,
    "null": None,
    "list": ["Ann"],
    "over-long": "x" * 65,
    # U+0958 is a composition exclusion: NFC turns it into two code points.
    "over-long only after NFC": "\u0958" * 33,
}

REFUSED_ON_ONE_LINE: dict[str, str] = {
    "line feed": "a\nb",
    "tab": "a\tb",
    "left-to-right mark": "a\u200eb",
    "right-to-left mark": "a\u200fb",
    "Arabic letter mark": "a\u061cb",
    "zero-width space": "a\u200bb",
    "zero-width joiner": "a\u200db",
    "soft hyphen": "a\u00adb",
    "byte order mark": "a\ufeffb",
}

ACCEPTED_EVERYWHERE: dict[str, tuple[str, str]] = {
    "plain": ("Ann", "Ann"),
    "trimmed": ("  Ann \t", "Ann"),
    "combining accent composed": ("Cafe\u0301", "Café"),
    "Hangul jamo composed": ("\u1100\u1161\u11a8", "\uac01"),
    "Angstrom sign to A with ring": ("\u212b", "\u00c5"),
    "64 characters once composed": ("e\u0301" * 64, "é" * 64),
    "astral characters": ("🦊 Fox 😀", "🦊 Fox 😀"),
    "non-Latin scripts": ("Ωμέγα 漢字 עברית العربية", "Ωμέγα 漢字 עברית العربية"),
    "markup is text": ("<b>Ann</b>", "<b>Ann</b>"),
}

ACCEPTED_MULTILINE: dict[str, tuple[str, str]] = {
    "newlines and tabs": ("line 1\n\tline 2", "line 1\n\tline 2"),
    "CRLF to LF": ("one\r\ntwo", "one\ntwo"),
    "emoji with ZWJ": ("👩\u200d💻", "👩\u200d💻"),
    "right-to-left mark": ("שלום \u200f123", "שלום \u200f123"),
}


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize("case", list(REFUSED_EVERYWHERE))
def test_refused_everywhere(case: str, multiline: bool) -> None:
    with pytest.raises(Invalid) as refused:
        clean_text(REFUSED_EVERYWHERE[case], "name", 64, multiline=multiline)
    assert refused.value.reason == "invalid_name"
    assert refused.value.message.startswith("name ")


@pytest.mark.parametrize("case", list(REFUSED_ON_ONE_LINE))
def test_refused_on_one_line(case: str) -> None:
    with pytest.raises(Invalid) as refused:
        clean_text(REFUSED_ON_ONE_LINE[case], "label", 200)
    assert refused.value.reason == "invalid_label"


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize("case", list(ACCEPTED_EVERYWHERE))
def test_accepted_everywhere(case: str, multiline: bool) -> None:
    sent, kept = ACCEPTED_EVERYWHERE[case]
    assert clean_text(sent, "name", 64, multiline=multiline) == kept


@pytest.mark.parametrize("case", list(ACCEPTED_MULTILINE))
def test_accepted_in_multiline_text(case: str) -> None:
    sent, kept = ACCEPTED_MULTILINE[case]
    assert clean_text(sent, "body", 100, multiline=True) == kept


def test_messages_say_what_is_wrong() -> None:
    def message(value: object) -> str:
        with pytest.raises(Invalid) as refused:
            clean_text(value, "title", 200)
        return refused.value.message

    assert message("a\ud800") == "title must be Unicode text (it holds a lone surrogate)"
    assert message("a\x1b") == "title must not contain control characters"
    assert message("a\u202e") == (
        "title must not contain bidirectional or invisible format characters"
    )
    assert message("x" * 201) == "title must be at most 200 characters"
    assert message("   ") == "title must not be empty"
    assert message(3) == "title must be a string"


BIDI_CONTROLS = {*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}
# Characters around the edges of the rules, so that examples hit them often.
EDGES = st.sampled_from(
    [
        "\ud800",
        "\udfff",
        "\x00",
        "\x1b",
        "\x85",
        "\r",
        "\n",
        "\t",
        " ",
        "\u00a0",
        "\u2028",
        "\u202e",
        "\u2066",
        "\u200e",
        "\u200d",
        "\ufeff",
        "e",
        "\u0301",
        "\u0958",
        "\u212b",
        "\u1100",
        "\u1161",
    ]
)
ANY_TEXT = st.text(alphabet=st.one_of(st.characters(exclude_categories=()), EDGES), max_size=40)


def _clean(value: str, max_length: int, multiline: bool) -> str | Invalid:
    try:
        return clean_text(value, "label", max_length, multiline=multiline)
    except Invalid as refused:
        return refused


@PROPERTY
@given(value=ANY_TEXT, max_length=st.integers(1, 24), multiline=st.booleans())
@example(value="\u0958" * 5, max_length=6, multiline=False)
@example(value="a\r\n", max_length=3, multiline=True)
def test_any_text_is_refused_or_comes_back_clean(
    value: str, max_length: int, multiline: bool
) -> None:
    outcome = _clean(value, max_length, multiline)
    if isinstance(outcome, Invalid):
        assert outcome.reason == "invalid_label"
        assert outcome.message.startswith("label ")
        return
    text = outcome
    assert unicodedata.is_normalized("NFC", text)
    assert 0 < len(text) <= max_length
    assert text == text.strip()
    text.encode("utf-8")  # no lone surrogates
    for ch in text:
        category = unicodedata.category(ch)
        assert category != "Cs"
        assert category != "Cc" or (multiline and ch in "\n\t")
        assert category != "Cf" or (multiline and ch not in BIDI_CONTROLS)
    # What was stored passes again unchanged.
    assert clean_text(text, "label", max_length, multiline=multiline) == text


@pytest.mark.parametrize(
    "value",
    ["k3X-_q9Z", "0123456789abcdef0123456789abcdef", "a" * 64],
)
def test_codes(value: str) -> None:
    assert is_code(value)


@pytest.mark.parametrize(
    "value",
    ["", "a" * 65, "a\ud800", "a\x00", "a b", "a\u202eb", "Cafe\u0301", "é", "a/b", 5, None],
)
def test_not_codes(value: object) -> None:
    assert not is_code(value)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("guide", "guide"),
        ("Cafe\u0301 au lait", "Café au lait"),
        ("e\u0301" * 100, "é" * 100),
        ("a\ud800", None),
        ("a\x00", None),
        ("a\u202eb", None),
        ("x" * 101, None),
        ("\u0958" * 51, None),
        (" guide", None),
        (5, None),
    ],
)
def test_document_names_are_compared_in_nfc(value: object, name: str | None) -> None:
    assert document_name(value) == name
