"""What a first touch says when a buyer's values are odd: an object for a name,
invisible or bidi characters, a topic that ends in its own question mark, a
first contact that was not an email."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.payloads import text_or_none
from firsttouch.channels.control_chars import drop_format_chars, header_text
from firsttouch.jobs.runner import run_until_idle
from firsttouch.respond.context import plain_text
from firsttouch.respond.first_touch import run_first_touch
from firsttouch.runtime import Runtime
from firsttouch.web import create_app
from tests.channels.fakes import SmtpSink
from tests.conftest import settle_accepted
from tests.respond.conftest import add_lead, worker_for

FORM = "/capture/forms/demo-request"
RLO = "\u202e"
ZWSP = "\u200b"


@pytest.mark.parametrize(
    ("email", "name", "company", "absent"),
    [
        ("odd@example.com", {"x": 1}, ZWSP, ["{", ZWSP]),
        ("num@example.com", 123, True, ["123", "True"]),
    ],
    ids=["object-and-invisible", "number-and-true"],
)
def test_a_form_post_with_odd_name_and_company_values_falls_back(
    live_any: Runtime,
    sink: SmtpSink,
    email: str,
    name: object,
    company: object,
    absent: list[str],
) -> None:
    """An object, a number or true for a name, an invisible or boolean company."""
    with TestClient(create_app(live_any)) as client:
        posted = client.post(
            FORM, json={"work_email": email, "First Name": name, "Company": company}
        )
    assert posted.status_code == 202, posted.text
    settle_accepted(live_any)
    run_until_idle(worker_for(live_any))

    [got] = sink.received
    text = got.text()
    assert text.startswith("Hi there,")
    assert "I look after teams like yours here" in text
    assert not [odd for odd in absent if odd in text]
    assert got.message["To"] == email


@pytest.mark.parametrize(
    "stored",
    ["{'x': 1}", '{"x": 1}', "['Ann']", ZWSP, f" {ZWSP}\u2060 ", "\ufeff"],
    ids=repr,
)
def test_a_stored_name_that_is_no_plain_text_says_hi_there(
    live: Runtime, sink: SmtpSink, stored: str
) -> None:
    run_first_touch(live, add_lead(live, first_name=stored))

    [got] = sink.received
    assert got.text().startswith("Hi there,")
    assert got.message["To"] == "ann@buyer.example"


def test_a_bidi_override_leaves_neither_the_to_header_nor_the_body(
    live: Runtime, sink: SmtpSink
) -> None:
    run_first_touch(live, add_lead(live, first_name=f"Ann{RLO}fdp.exe"))

    [got] = sink.received
    assert got.message["To"].addresses[0].display_name == "Annfdp.exe"
    assert got.text().startswith("Hi Annfdp.exe,")
    assert RLO not in got.raw.decode("utf-8", errors="replace")
    assert RLO not in got.text()


def test_a_joiner_inside_a_word_is_kept_and_alone_is_dropped() -> None:
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert drop_format_chars(persian) == persian
    assert header_text(f"\u200c{ZWSP}\u200d") == ""
    assert plain_text(f"Ann{ZWSP} Lee") == "Ann Lee"
    assert plain_text({"x": 1}) is None and plain_text(["Ann"]) is None
    assert plain_text("[Ann]") == "[Ann]"


def test_a_provider_value_that_is_an_object_is_no_text() -> None:
    assert text_or_none({"first": "Ann"}) is None
    assert text_or_none(["Ann"]) is None
    assert text_or_none(" Ann ") == "Ann"


def test_a_first_contact_by_form_is_no_reply_and_an_email_is(
    live: Runtime, sink: SmtpSink
) -> None:
    run_first_touch(live, add_lead(live, fields={"form": "demo-request"}))
    emailed = add_lead(
        live, channel="email", source="email", subject="Book a demo", message_id=None
    )
    run_first_touch(live, emailed)

    form_mail, email_mail = (r.message for r in sink.received)
    assert form_mail["Subject"] == "Your enquiry: book a demo"
    assert email_mail["Subject"] == "Re: Book a demo"


def test_a_topic_ending_in_a_question_mark_gets_no_second_mark(
    live: Runtime, sink: SmtpSink
) -> None:
    fields = {"form": "pricing", "topic": "Pricing for 40 users?"}
    run_first_touch(live, add_lead(live, fields=fields))

    [got] = sink.received
    assert "about Pricing for 40 users." in got.text()
    assert "?." not in got.text()
    assert got.message["Subject"] == "Your enquiry: Pricing for 40 users"
