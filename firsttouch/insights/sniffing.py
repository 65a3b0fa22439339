"""Work out how an export file is written before pandas reads it.

Excel writes UTF-8 with a BOM, or UTF-16 for "Unicode text"; European
locales write ``;`` between fields because ``,`` is their decimal mark;
Windows tools still write cp1252. This module settles encoding, delimiter
and header row from the bytes, so the fast reader can be told, not left to
guess.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from firsttouch.errors import InputError

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BLOCK = 1 << 20


class ExportReadError(InputError):
    """An export cannot be read; names the file and, where known, row and column."""

    code = "export_unreadable"

    def __init__(
        self, file: str, message: str, row: int | None = None, column: str | None = None
    ):
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}", field=column)
        self.file = file
        self.row = row
        self.column = column


@dataclass(frozen=True)
class FileShape:
    """How an export is written: encoding, delimiter and its header row."""

    encoding: str
    delimiter: str
    headers: list[str]
    size: int
    notes: list[str]


def sniff_file(path: Path) -> FileShape:
    """Read the start of ``path`` and say how the rest must be read."""
    name = str(path)
    if not path.is_file():
        raise ExportReadError(name, "no such file")

    size = path.stat().st_size
    if size == 0:
        raise ExportReadError(name, "the file is empty")

    encoding, notes = _detect_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        head = handle.read(64 * 1024)

    delimiter = _detect_delimiter(head)
    headers = _read_headers(name, head, delimiter)
    if delimiter != ",":
        notes.append(f"fields separated by {_delimiter_name(delimiter)}")

    return FileShape(encoding, delimiter, headers, size, notes)


def _detect_encoding(path: Path) -> tuple[str, list[str]]:
    with path.open("rb") as handle:
        start = handle.read(4)
    for bom, encoding in _BOMS:
        if start.startswith(bom):
            return encoding, [f"read as {encoding} (byte order mark found)"]

    # Decode the whole file once, block by block: a bad byte near the end
    # must not surface as a crash after a minute of reading.
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                where = offset + exc.start
                note = f"not UTF-8 (byte {where}); read as Windows-1252"
                return "cp1252", [note]

            offset += len(block)

    return "utf-8", []


def _detect_delimiter(head: str) -> str:
    first_record = _first_record(head)
    counts = {
        delimiter: _count_outside_quotes(first_record, delimiter)
        for delimiter in DELIMITERS
    }
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > 0 else ","


def _first_record(head: str) -> str:
    in_quotes = False
    for index, char in enumerate(head):
        if char == '"':
            in_quotes = not in_quotes
        elif char in "\r\n" and not in_quotes:
            return head[:index]

    return head


def _count_outside_quotes(text: str, delimiter: str) -> int:
    count = 0
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
        elif char == delimiter and not in_quotes:
            count += 1

    return count


def _read_headers(name: str, head: str, delimiter: str) -> list[str]:
    reader = csv.reader(io.StringIO(head), delimiter=delimiter)
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ExportReadError(name, f"no readable header row ({exc})", row=1) from exc

    cleaned = [header.replace("\ufeff", "").strip() for header in headers]
    if not any(cleaned):
        raise ExportReadError(name, "the header row is blank", row=1)

    return [header or f"column {index + 1}" for index, header in enumerate(cleaned)]


def _delimiter_name(delimiter: str) -> str:
    return {";": "semicolons", "\t": "tabs", "|": "pipes"}.get(
        delimiter, repr(delimiter)
    )
