"""RFC 2047 encoded words: a word that cannot be decoded is kept as typed."""

from __future__ import annotations

import pytest

from firsttouch.capture.encoded_words import decode_encoded_words

# Each word below is broken in one way; the text around it must survive.
BROKEN_WORDS = [
    pytest.param("=?utf-8?B?Q2Fm!!ZQ==?=", id="base64-with-stray-characters"),
    pytest.param("=?utf-8?B?Q2FmZ?=", id="base64-of-impossible-length"),
    pytest.param("=?utf-8?B?###?=", id="base64-of-no-base64-at-all"),
    pytest.param("=?utf-8?Q?caf=ZZ_ok?=", id="q-escape-not-hex"),
    pytest.param("=?utf-8?Q?trailing=?=", id="q-escape-cut-short"),
    pytest.param("=?utf-8?B?//79/A==?=", id="bytes-no-utf-8"),
    pytest.param("=?iso-8859-7?B?0q==?=", id="byte-undefined-in-greek"),
    pytest.param("=?shift_jis?B?gg==?=", id="half-a-shift-jis-character"),
]


@pytest.mark.parametrize("word", BROKEN_WORDS)
def test_a_word_that_cannot_be_decoded_is_kept_as_typed(word: str) -> None:
    value = f"Re: =?utf-8?Q?Caf=C3=A9?= {word} (urgent)"

    decoded = decode_encoded_words(value)

    assert decoded == f"Re: Café {word} (urgent)"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Quote =?utf-8?B?Q2Fmw6k", id="no-closing-marker"),
        pytest.param("Quote =?utf-8?B", id="cut-after-the-charset"),
        pytest.param("Quote =?utf-8??Q2Fm?=", id="no-encoding-letter"),
        pytest.param("Quote =??B?Q2Fm?=", id="no-charset"),
    ],
)
def test_a_word_cut_off_or_missing_a_part_is_plain_text(value: str) -> None:
    assert decode_encoded_words(value) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param("=?x-klingon?B?Q2Fmw6k=?=", "Café", id="utf-8-bytes"),
        pytest.param("=?x-klingon?Q?caf=E9?=", "café", id="western-bytes"),
        pytest.param("=?x-klingon?Q?caf=81?=", "caf\ufffd", id="no-windows-1252"),
    ],
)
def test_an_unknown_charset_reads_as_utf_8_then_windows_1252(
    value: str, text: str
) -> None:
    assert decode_encoded_words(value) == text


def test_words_of_one_charset_join_before_decoding_a_split_character() -> None:
    # "é" is C3 A9 in UTF-8; the mailer cut the word between the two bytes.
    folded = "=?utf-8?B?Q2Fmww==?=\r\n =?UTF-8?B?qQ==?= ok"

    assert decode_encoded_words(folded) == "Café ok"


def test_a_broken_word_beside_good_ones_breaks_only_itself() -> None:
    value = "=?utf-8?B?w6k=?= =?utf-8?B?!!?= =?utf-8?B?w6k=?="

    assert decode_encoded_words(value) == "é =?utf-8?B?!!?= é"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param("=?iso-2022-jp?B?GyRCJEgkNSRzGyhC?=", "とさん", id="iso-2022-jp"),
        pytest.param("=?utf-8*fr?Q?caf=C3=A9?=", "café", id="rfc-2231-language"),
        pytest.param("=?iso-8859-1?Q?caf=C3=A9?=", "café", id="utf-8-labelled-latin"),
        pytest.param("=?utf-8?q?a_b=3Fc?=", "a b?c", id="lower-case-q"),
        pytest.param("=?utf-8?B?Q2Fmw6k?=", "Café", id="base64-unpadded"),
        pytest.param("=?utf-8?B??=", "", id="empty-word"),
    ],
)
def test_well_formed_words_decode(value: str, text: str) -> None:
    assert decode_encoded_words(value) == text
