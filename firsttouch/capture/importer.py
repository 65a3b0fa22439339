"""``firsttouch import FILE.csv``: a list of leads in, all of it or none of it.

Columns map to a person's facts by name (``Email``, ``First Name``,
``Company``...) or by an explicit mapping (``"E-mail Address=email"``).
Every row is checked before anything is written; one bad row means nothing
is imported and the report names each bad row and why. A valid file goes
in as one transaction through the same ``ingest`` every channel uses, and
importing the same file again changes nothing (row keys are derived from
the file's content).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firsttouch.capture.charsets import decode_bytes
from firsttouch.capture.events import InboundEvent
from firsttouch.capture.forms import TARGETS, form_to_event
from firsttouch.capture.ingest import ingest
from firsttouch.errors import InputError
from firsttouch.workspace.routing import Form

if TYPE_CHECKING:
    from firsttouch.runtime import Runtime

# A file this large is an export to load in pieces, not one import.
MAX_ROWS = 100_000


@dataclass(frozen=True)
class RowError:
    """One row that cannot be imported: its 1-based line number and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    """What an import did (or, with errors, would have refused to do)."""

    path: str
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["Column=field", ...]`` to a dict, refusing unknown target fields."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, sep, target = pair.rpartition("=")
        target = target.strip()
        if not sep or not column.strip():
            raise InputError(f"--map wants COLUMN=FIELD, got {pair!r}", field="map")
        if target not in TARGETS:
            raise InputError(
                f"--map {pair!r}: {target!r} is not a field; use one of "
                f"{', '.join(sorted(TARGETS))}",
                field="map",
            )
        mapping[column.strip()] = target
    return mapping


def _dialect(sample: str) -> Any:
    """The CSV dialect of ``sample``: sniffed, else the header's own delimiter.

    The sniffer gives up on some real exports (CRLF line ends with a quoted
    multi-line cell); the header line then says which of , ; tab | it uses.
    """
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        pass
    header = sample.splitlines()[0] if sample else ""
    delimiter = max(",;\t|", key=header.count)

    class Found(csv.excel):
        pass

    Found.delimiter = delimiter if header.count(delimiter) else ","
    return Found


# What a CSV is, said in every refusal of a file that is not one.
CSV_SHAPE = (
    "expected a CSV: a first line naming the columns, then one lead per line "
    "(from a spreadsheet, save as 'CSV UTF-8')"
)
# The opening bytes of files people pick instead of the CSV export.
BINARY_KINDS = {
    b"PK\x03\x04": "a zip file, such as an .xlsx or .numbers workbook",
    b"\xd0\xcf\x11\xe0": "an .xls workbook",
    b"%PDF": "a PDF",
    b"\x1f\x8b": "a gzip file",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
BINARY_SAMPLE = 8192


def _text_of(data: bytes) -> str:
    """Decode a CSV file; raise ``InputError`` when it is not text at all."""
    # Excel's "Unicode text" export is UTF-16 with a byte order mark.
    if data.startswith(UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for magic, kind in BINARY_KINDS.items():
        if data.startswith(magic):
            raise InputError(f"the file is {kind}, not CSV text; {CSV_SHAPE}")
    text, _ = decode_bytes(data.removeprefix(b"\xef\xbb\xbf"))
    # Text holds no NUL and few other control characters; binary data does.
    sample = text[:BINARY_SAMPLE]
    controls = sum(1 for c in sample if c < " " and c not in "\t\r\n")
    if "\x00" in sample or controls > len(sample) // 100:
        raise InputError(f"the file holds binary data, not CSV text; {CSV_SHAPE}")
    return text


def read_rows(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Decode and split a CSV; return the header and (line, row) pairs.

    Raises ``InputError`` for a file that is not CSV text or has no rows.
    """
    text = _text_of(data)
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text[:20_000]))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(
            "the file is empty; the first line must name the columns"
        ) from None
    if not any(header):
        raise InputError("the first line must name the columns")

    rows: list[tuple[int, dict[str, str]]] = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        rows.append((reader.line_num, dict(zip(header, values, strict=False))))
        if len(rows) > MAX_ROWS:
            raise InputError(f"more than {MAX_ROWS} rows; split the file")
    if not rows:
        raise InputError(f"the file has no rows under its first line; {CSV_SHAPE}")
    return header, rows


def import_csv(
    runtime: Runtime,
    path: str | Path,
    *,
    mapping: dict[str, str] | None = None,
    source: str = "import",
    default_region: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check every row of ``path``, then import all of them in one transaction.

    Returns a report; with any row error nothing is written. Raises
    ``InputError`` when the file itself cannot be read.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        header, rows = read_rows(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    missing = sorted(set(mapping or {}) - set(header))
    if missing:
        raise InputError(
            f"--map names {', '.join(repr(m) for m in missing)}, not a column of "
            f"{path.name}; its columns are: {', '.join(header)}",
            field="map",
        )
    form = Form(
        name=f"import {path.name}",
        source=source,
        field_map=mapping or {},
        honeypot=None,
    )
    region = default_region or runtime.workspace.routing.default_region
    digest = hashlib.sha256(data).hexdigest()[:16]

    report = ImportReport(path=str(path), rows=len(rows))
    report.mapping, report.unmapped = _describe_mapping(form, header)
    events: list[InboundEvent] = []
    for line, row in rows:
        try:
            events.append(
                _row_event(form, row, region, f"import:{digest}:{line}", path.name)
            )
        except InputError as exc:
            message = str(exc)
            if "no email or phone" in message:
                message = (
                    "no email or phone in this row (map a column to them "
                    "with --map 'COLUMN=email')"
                )
            report.errors.append(RowError(line, message))
    if report.errors or dry_run:
        return report

    with runtime.db.transaction() as session:
        for done, event in enumerate(events, start=1):
            result = ingest(runtime, event, session=session)
            report.imported += not result.duplicate
            report.duplicates += result.duplicate
            if progress:
                progress(done, len(events))
    return report


def _row_event(
    form: Form, row: dict[str, str], region: str, key: str, filename: str
) -> InboundEvent:
    event = form_to_event(
        "import", form, row, default_region=region, dedupe_key=key, raw=_row_raw(row)
    )
    fields = {k: v for k, v in event.fields.items() if k not in ("form", "form_name")}
    return event.model_copy(
        update={
            "channel": "import",
            "kind": "import",
            "provider": "csv",
            "fields": {**fields, "import_file": filename},
            "subject": None,
        }
    )


def _row_raw(row: dict[str, str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(row.values())
    return out.getvalue().rstrip("\r\n")


def _describe_mapping(
    form: Form, header: list[str]
) -> tuple[dict[str, str], list[str]]:
    from firsttouch.capture.forms import map_fields

    mapping: dict[str, str] = {}
    unmapped: list[str] = []
    for column in header:
        mapped, _ = map_fields(form, {column: "x"})
        if mapped:
            mapping[column] = next(iter(mapped))
        else:
            unmapped.append(column)
    return mapping, unmapped
