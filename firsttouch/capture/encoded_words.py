"""RFC 2047 encoded words in a header value, decoded without guessing.

A Subject or a From name written as ``=?charset?B|Q?text?=``. Mailers get
them wrong: base64 with stray characters or cut short, ``=`` escapes that
are not hex, charsets no registry knows, words cut off before their
``?=``. A word that does not decode exactly is kept as it was typed, so a
person reads what the sender wrote instead of bytes decoded into noise;
the words around it are decoded all the same. Nothing here raises.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from firsttouch.capture.charsets import decode_word

# charset (with an optional RFC 2231 ``*language``), encoding, encoded text.
# The text may hold a space: some mailers leave one unencoded in a Q word.
_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
# Linear whitespace between two encoded words is not part of the text
# (RFC 2047, section 6.2); folding a long header puts a line break there.
_BETWEEN_WORDS = re.compile(r"[ \t\r\n]*")
_HEX_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class _Word:
    """One well-formed encoded word, not yet decoded."""

    charset: str
    data: bytes
    typed: str
    space_before: str


def decode_encoded_words(value: str) -> str:
    """``value`` with each encoded word decoded, or kept as typed if it cannot be."""
    pieces: list[str] = []
    run: list[_Word] = []
    position = 0
    for word in _WORD.finditer(value):
        between = value[position : word.start()]
        position = word.end()
        label, encoding, text = word.groups()
        data = _payload(encoding.upper(), text)
        typed = word.group(0)
        if data is not None and run and _BETWEEN_WORDS.fullmatch(between):
            run.append(_Word(label.partition("*")[0], data, typed, between))
            continue

        pieces += [_decode_run(run), between]
        run = []
        if data is None:
            pieces.append(typed)
        else:
            run.append(_Word(label.partition("*")[0], data, typed, ""))
    pieces.append(_decode_run(run))
    pieces.append(value[position:])
    return "".join(pieces)


def _payload(encoding: str, text: str) -> bytes | None:
    """The bytes a word's encoded text stands for, or None if it is malformed."""
    if not text.isascii():
        return None
    if encoding == "B":
        # Postel: a missing "=" pad is added; anything else wrong is refused,
        # where the standard library would skip the stray characters.
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None
    # Q: "_" is a space, "=XX" a byte; an "=" not followed by hex is no Q.
    data = text.replace("_", " ").encode("ascii")
    if b"=" in _HEX_ESCAPE.sub(b"", data):
        return None
    return _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def _decode_run(run: list[_Word]) -> str:
    """Adjacent words as text; a word that does not decode is kept as typed."""
    texts: list[str | None] = []
    for group in _same_charset(run):
        # One character's bytes may be split across two words, so a group
        # of one charset is decoded as one; if that fails, word by word.
        joined = decode_word(b"".join(w.data for w in group), group[0].charset)
        if joined is not None:
            texts += [joined] + [""] * (len(group) - 1)
        else:
            texts += [decode_word(w.data, w.charset) for w in group]

    out: list[str] = []
    for number, (word, text) in enumerate(zip(run, texts, strict=True)):
        if number and (text is None or texts[number - 1] is None):
            # Beside a word kept as typed, the space is the sender's again.
            out.append(word.space_before)
        out.append(word.typed if text is None else text)
    return "".join(out)


def _same_charset(run: list[_Word]) -> list[list[_Word]]:
    groups: list[list[_Word]] = []
    for word in run:
        if groups and groups[-1][0].charset.lower() == word.charset.lower():
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups
