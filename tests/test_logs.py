"""What reaches the log when a job fails: short, plain, no buyer's details."""

from __future__ import annotations

import json

import pytest
import structlog

from firsttouch.logs import configure_logging, get_logger


def _fail_with(buyer: str, phone: str) -> None:
    body = f"Hello {buyer}, we will call {phone}"  # a local the old renderer showed
    raise UnicodeEncodeError("ascii", body, 6, 7, f"cannot send to {buyer} or {phone}")


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_failed_job_logs_a_plain_traceback_with_contact_details_masked(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(fmt=fmt, level="INFO")
    log = get_logger("tests.logs")
    buyer, phone = "jurgen.muller@example.de", "+4915112345678"

    try:
        _fail_with(buyer, phone)
    except UnicodeEncodeError as exc:
        log.warning("job.failed", error=f"{type(exc).__name__}: {exc}", exc_info=True)
    structlog.reset_defaults()

    err = capsys.readouterr().err
    assert "job.failed" in err
    assert "Traceback" in err and "_fail_with" in err
    assert buyer not in err and phone not in err
    assert "j***@example.de" in err and "+49***78" in err
    # No local variables: the traceback is a few lines, not a page.
    assert "body = " not in err and len(err.splitlines()) < 30
    if fmt == "json":
        assert json.loads(err.splitlines()[-1])["event"] == "job.failed"


def test_text_without_contact_details_is_left_as_it_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(fmt="json", level="INFO")
    get_logger("tests.logs").warning(
        "job.failed", error="timeout after 30 s at 2026-03-10 14:00 (job 12)"
    )
    structlog.reset_defaults()

    line = json.loads(capsys.readouterr().err.splitlines()[-1])
    assert line["error"] == "timeout after 30 s at 2026-03-10 14:00 (job 12)"
