"""CSV import: column mapping, a report per bad row, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from firsttouch.capture.importer import import_csv, parse_mapping
from firsttouch.cli import app
from firsttouch.errors import InputError
from firsttouch.store import migrate
from firsttouch.store.models import Contact, Inbound, Job

GOOD = """First Name,Last Name,E-mail Address,Company,Phone,Country,Notes
Marta,Silva,marta@lisbon-tiles.example,Lisbon Tiles,+351 21 000 0000,PT,met at expo
Jonas,Berg,jonas@fjord-freight.example,Fjord Freight,,SE,
Aiko,Tanaka,,Kaizen Parts,+81 3-1234-5678,JP,call first
"""


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def write(
    tmp_path: Path, text: str, name: str = "leads.csv", encoding: str = "utf-8"
) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_valid_file_imports_every_row_through_capture(runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, GOOD)
    seen: list[tuple[int, int]] = []

    report = import_csv(
        runtime,
        path,
        mapping=parse_mapping(["E-mail Address=email"]),
        progress=lambda done, total: seen.append((done, total)),
    )

    assert report.ok and report.imported == 3
    assert report.mapping["E-mail Address"] == "email"
    assert "Notes" in report.unmapped
    assert seen[-1] == (3, 3)
    with runtime.db.sessions() as session:
        inbounds = list(session.scalars(select(Inbound)))
        assert {i.channel for i in inbounds} == {"import"}
        assert all(i.owner_id for i in inbounds)
        aiko = session.scalar(select(Contact).where(Contact.first_name == "Aiko"))
        assert aiko.phone_e164 == "+81312345678"
    assert count(runtime.db, Job) >= 9


def test_one_bad_row_imports_nothing_and_names_the_line(runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = GOOD + "Nobody,Atall,,No Contact Ltd,,US,\nBad,Mail,not-an-email,X,,US,\n"
    report = import_csv(runtime, write(tmp_path, text))

    assert not report.ok
    assert [e.line for e in report.errors] == [5, 6]
    assert "no email or phone" in report.errors[0].message
    assert "not an email address" in report.errors[1].message
    assert count(runtime.db, Inbound) == 0
    assert count(runtime.db, Contact) == 0


def test_importing_the_same_file_again_changes_nothing(runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, GOOD)
    mapping = parse_mapping(["E-mail Address=email"])
    import_csv(runtime, path, mapping=mapping)
    again = import_csv(runtime, path, mapping=mapping)

    assert again.imported == 0 and again.duplicates == 3
    assert count(runtime.db, Inbound) == 3


def test_semicolons_and_latin1_are_read(runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = (
        "Vorname;Nachname;Email;Firma\n"
        "Jürgen;Müller;jm@baeckerei-mueller.example;Bäckerei Müller GmbH\n"
    )
    path = write(tmp_path, text, encoding="cp1252")
    report = import_csv(
        runtime,
        path,
        mapping=parse_mapping(
            ["Vorname=first_name", "Nachname=last_name", "Firma=company"]
        ),
    )

    assert report.ok, report.errors
    with runtime.db.sessions() as session:
        contact = session.scalar(select(Contact))
        assert contact.first_name == "Jürgen"
        assert contact.company_name == "Bäckerei Müller GmbH"


def test_mapping_to_an_unknown_field_is_refused() -> None:
    with pytest.raises(InputError, match="not a field"):
        parse_mapping(["Email=e_mail_address"])


def test_cli_import_reports_rows_and_exit_code(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", url)
    # The CLI points logging at the runner's captured stderr, which closes
    # after the call; later tests would then log into a closed file.
    monkeypatch.setattr("firsttouch.cli.configure_logging", lambda *a, **k: None)
    runner = CliRunner()

    bad = write(tmp_path, "Email,Name\n,Nobody\n", name="bad.csv")
    failed = runner.invoke(app, ["import", str(bad)])
    good = write(tmp_path, GOOD)
    done = runner.invoke(app, ["import", str(good), "--map", "E-mail Address=email"])

    assert failed.exit_code == 1
    assert "line 2" in failed.output and "nothing was imported" in failed.output
    assert done.exit_code == 0, done.output
    assert "imported 3 leads" in done.output


def test_a_semicolon_export_with_crlf_and_a_multiline_cell_is_read(
    runtime, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "export.csv"
    path.write_bytes(
        "\ufeffE-mail Address;Name;Notes\r\n"
        'ada@acme-widgets.example;Ada L;"first line\r\nsecond line"\r\n'
        "dee@acme-widgets.example;Dee;\r\n".encode()
    )
    report = import_csv(runtime, path, mapping={"E-mail Address": "email"})
    assert not report.errors
    with runtime.db.sessions() as session:
        assert session.scalar(select(func.count(Inbound.id))) == 2


def test_a_map_naming_a_missing_column_is_refused(runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "export.csv"
    path.write_text("Name,E-mail Address\nAda,ada@acme-widgets.example\n")
    with pytest.raises(InputError, match="'Email', not a column"):
        import_csv(runtime, path, mapping={"Email": "email"})


def test_a_phone_that_is_not_one_is_kept_aside_or_refused(runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "export.csv"
    path.write_text("Email,Phone\nada@acme-widgets.example,not-a-phone\n,also-not\n")
    report = import_csv(runtime, path)
    assert [e.line for e in report.errors] == [3]
    assert "not a phone number" in report.errors[0].message


# A few bytes from the start of each kind of file picked instead of a CSV.
NOT_CSV = {
    "book.xlsx": b"PK\x03\x04\x14\x00\x06\x00\x08\x00[Content_Types].xml",
    "book.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00",
    "leads.csv.gz": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03+I-.\x01\x00",
    "leads.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
    "program": b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    "header-only.csv": b"Email,Name\n",
}


@pytest.mark.parametrize("name", sorted(NOT_CSV))
def test_a_file_that_is_not_a_csv_of_leads_is_refused_saying_what_is_expected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", url)
    monkeypatch.setattr("firsttouch.cli.configure_logging", lambda *a, **k: None)
    path = tmp_path / name
    path.write_bytes(NOT_CSV[name])

    result = CliRunner().invoke(app, ["import", str(path)])

    assert result.exit_code == 1
    assert "imported" not in result.output
    assert str(path) in result.output
    assert "expected a CSV: a first line naming the columns" in result.output


def test_a_utf16_export_with_a_byte_order_mark_is_read(runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Excel's "Unicode text" export; its NUL bytes are not binary data.
    path = write(tmp_path, GOOD, encoding="utf-16")

    report = import_csv(runtime, path, mapping={"E-mail Address": "email"})

    assert report.ok and report.imported == 3
