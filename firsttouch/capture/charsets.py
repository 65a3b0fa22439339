"""Bytes to text for mail, whatever the message claims its charset is.

Mail lies about charsets: a part labelled Big5 that is really UTF-8, a
Korean part labelled ks_c_5601-1987, a header in raw 8-bit with no label
at all. The order here: valid UTF-8 wins (a false positive on other
charsets is rare, because UTF-8's byte patterns are strict), then the
declared charset, then a statistical guess, then a lossless fallback.
"""

from __future__ import annotations

import codecs
import unicodedata

from charset_normalizer import from_bytes

# Labels mail clients use that Python's codec registry does not know, or
# knows as a narrower charset than the one senders really mean (WHATWG
# Encoding Standard: iso-8859-1 and us-ascii are decoded as windows-1252).
ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
}


def codec_for(label: str | None) -> str | None:
    """The Python codec for a MIME charset label, or None if unknown."""
    if not label:
        return None
    name = label.strip().strip('"').strip("'").lower()
    name = ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode ``data``; return the text and the charset actually used."""
    if not data:
        return "", "empty"
    try:
        text = data.decode("utf-8")
        return text, "utf-8"
    except UnicodeDecodeError:
        pass

    codec = codec_for(declared)
    if codec and codec != "utf-8":
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            pass

    mostly = _mostly_utf8(data)
    if mostly is not None:
        return mostly, "utf-8?"

    guess = from_bytes(data[:200_000]).best()
    if guess is not None and guess.encoding and _ascii_compatible(guess.encoding):
        try:
            text = data.decode(guess.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            return _prefer_windows_1252(data, text, guess.encoding)

    # Nothing fits: keep every byte readable rather than drop the text.
    return data.decode(codec or "cp1252", errors="replace"), (codec or "cp1252") + "?"


def decode_word(data: bytes, declared: str) -> str | None:
    """Decode one RFC 2047 word's bytes; None if they are no text in its charset.

    A header word is too short for a statistical guess, so there is none:
    UTF-8 still wins over the label, and a label no registry knows falls
    back to windows-1252, which reads every Western byte (the WHATWG
    default). Bytes the named charset cannot read are the caller's to keep
    as typed rather than decode into noise.
    """
    codec = codec_for(declared)
    if codec is not None and data.isascii():
        # 7-bit charsets (ISO-2022-JP, UTF-7) are valid UTF-8 as bytes but
        # read as escape sequences; ASCII-compatible ones read the same.
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec is None:
        return data.decode("cp1252", errors="replace")
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a stray broken byte or two (a cut header), else None."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    wide = sum(1 for ch in text if ord(ch) > 0x7F and ch != "\ufffd")
    if wide >= 4 and broken <= max(2, wide // 20):
        return text
    return None


def _ascii_compatible(encoding: str) -> bool:
    # Mail is ASCII-framed: a guess of UTF-16 or UTF-32 for 8-bit bytes turns
    # every address and header into CJK noise.
    try:
        return "Az@. ".encode(encoding) == b"Az@. "
    except (LookupError, UnicodeEncodeError):
        return False


def _plausible(text: str) -> float:
    """How much ``text`` looks like prose: letters, spaces and ASCII count
    fully, punctuation and currency half, control and stray symbols not."""
    if not text:
        return 1.0
    score = 0.0
    for ch in text:
        if ch.isalpha() or ch.isspace() or ch.isascii():
            score += 1.0
        elif (
            unicodedata.category(ch)[0] in ("P", "S")
            and unicodedata.category(ch) != "So"
        ):
            score += 0.5
    return score / len(text)


def _prefer_windows_1252(data: bytes, text: str, encoding: str) -> tuple[str, str]:
    # On short Western text the detector often picks a DOS code page (cp850
    # reads "ü" as "³"); windows-1252 wins when it reads more plausibly.
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        return text, encoding
    if _plausible(western) > _plausible(text):
        return western, "cp1252"
    return text, encoding


def raw_to_text(raw: bytes) -> tuple[str, str]:
    """Store raw bytes as text losslessly: UTF-8 if valid, else Latin-1.

    Latin-1 maps every byte to one code point, so ``text.encode('latin-1')``
    gives back the exact bytes received.
    """
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"
