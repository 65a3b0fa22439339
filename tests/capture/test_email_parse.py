"""MIME parsing: lying charsets, HTML-only bodies, attachments, forwards."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from firsttouch.capture.email_parse import email_to_event, parse_email
from firsttouch.capture.ingest import ingest
from firsttouch.store.models import Inbound


def mail(headers: str, body: bytes) -> bytes:
    return headers.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


def test_big5_label_on_utf8_bytes_still_reads_right() -> None:
    text = "請問你們的價格是多少？我們有五十位員工。"
    raw = mail(
        """
From: Wei Lin <wei@lin-trading.example>
Subject: pricing
Message-ID: <big5-utf8@lin-trading.example>
Content-Type: text/plain; charset=Big5
Content-Transfer-Encoding: 8bit
""",
        text.encode("utf-8"),
    )

    assert parse_email(raw).text.strip() == text


def test_undeclared_charset_is_guessed() -> None:
    body = (
        "Guten Tag, wir möchten gerne eine Vorführung Ihrer Lösung für "
        "unsere Buchhaltung in München sehen. Viele Grüße, Jürgen Müller"
    )
    raw = mail(
        """
From: juergen@mueller-bau.example
Subject: Anfrage
Content-Type: text/plain
""",
        body.encode("cp1252"),
    )

    assert "Vorführung" in parse_email(raw).text
    assert "Grüße" in parse_email(raw).text


def test_encoded_word_and_raw_8bit_headers_decode() -> None:
    raw = mail(
        """
From: =?UTF-8?B?w4lsb2RpZSBCw6lyYXJk?= <elodie@atelier.example>
Subject: =?ISO-8859-1?Q?Devis_pour_la_comptabilit=E9?=
""",
        b"Bonjour",
    ).replace(b"Bonjour", "Réponse rapide".encode())
    raw = raw.replace(b"Subject:", "X-Note: caf\u00e9\r\nSubject:".encode("utf-8"), 1)

    parsed = parse_email(raw)

    assert parsed.from_name == "Élodie Bérard"
    assert parsed.subject == "Devis pour la comptabilité"
    assert parsed.text == "Réponse rapide"


BROKEN_WORDS = [
    pytest.param("=?utf-8?B?RGV2aXMg!!cG91cg==?=", id="base64-with-stray-characters"),
    pytest.param("=?utf-8?B?RGV2aXMgc?=", id="base64-cut-short"),
    pytest.param("=?utf-8?Q?Devis=G0pour?=", id="q-escape-not-hex"),
    pytest.param("=?utf-8?B?/+7t7A==?=", id="bytes-no-utf-8"),
    pytest.param("=?utf-8?B?RGV2aXMgcG91cg", id="cut-before-its-end"),
]


@pytest.mark.parametrize("word", BROKEN_WORDS)
def test_a_broken_encoded_word_in_subject_or_from_name_is_kept_as_typed(
    word: str,
) -> None:
    raw = mail(
        f"""
From: =?utf-8?Q?=C3=89lodie?= {word} <elodie@atelier.example>
Subject: Re: =?iso-8859-1?Q?comptabilit=E9?= {word}
Message-ID: <broken-word@atelier.example>
""",
        b"Bonjour",
    )

    parsed = parse_email(raw)

    assert parsed.subject == f"Re: comptabilité {word}"
    assert parsed.from_name == f"Élodie {word}"
    assert parsed.from_address == "elodie@atelier.example"


def test_an_unknown_charset_in_a_header_reads_as_utf_8_or_windows_1252() -> None:
    raw = mail(
        """
From: =?x-mac-klingon?Q?Jos=C3=A9?= <jose@taller.example>
Subject: =?x-unheard-of?Q?Presupuesto_ma=F1ana?=
""",
        b"Hola",
    )

    parsed = parse_email(raw)

    assert (parsed.from_name, parsed.subject) == ("José", "Presupuesto mañana")


def test_a_raw_8bit_header_still_decodes_its_encoded_words() -> None:
    raw = mail(
        """
From: Ana <ana@quinta.example>
Subject: PLACEHOLDER
""",
        b"Ola",
    ).replace(
        b"PLACEHOLDER",
        "Orçamento =?utf-8?Q?r=C3=A1pido?=".encode(),
    )

    assert parse_email(raw).subject == "Orçamento rápido"


def test_a_mail_with_a_broken_subject_is_stored_with_it_as_typed(runtime) -> None:  # type: ignore[no-untyped-def]
    raw = mail(
        """
From: =?utf-8?B?!!S2Fp?= <kai@werft.example>
Subject: Angebot =?utf-8?B?ZsO8cg==?= =?utf-8?B?!!?= 40 Nutzer
Message-ID: <stored-broken-word@werft.example>
""",
        b"Bitte um ein Angebot.",
    )

    result = ingest(runtime, email_to_event(raw, provider="smtp", source="email"))

    with runtime.db.sessions() as session:
        inbound = session.scalars(
            select(Inbound).where(Inbound.id == result.inbound_id)
        ).one()
    assert inbound.subject == "Angebot für =?utf-8?B?!!?= 40 Nutzer"


def test_html_only_body_becomes_text() -> None:
    html = (
        b"<html><head><style>p{color:red}</style></head><body>"
        b"<p>Hi there,</p><p>We need <b>AP automation</b>&nbsp;this quarter.</p>"
        b"<script>track()</script><ul><li>40 entities</li><li>NetSuite</li></ul>"
        b"</body></html>"
    )
    raw = mail(
        """
From: ops@harbor-freight-lines.example
Subject: demo
Content-Type: text/html; charset=utf-8
""",
        html,
    )

    parsed = parse_email(raw)

    assert parsed.html_only
    assert "We need AP automation this quarter." in parsed.text
    assert "- 40 entities" in parsed.text
    assert "track()" not in parsed.text and "color" not in parsed.text


def test_attachments_are_metadata_only() -> None:
    raw = mail(
        """
From: buyer@quarry-tools.example
Subject: RFP attached
Content-Type: multipart/mixed; boundary="b1"
""",
        b"""--b1\r
Content-Type: text/plain; charset=utf-8\r
\r
See the RFP.\r
--b1\r
Content-Type: application/pdf; name="rfp.pdf"\r
Content-Disposition: attachment; filename="rfp.pdf"\r
Content-Transfer-Encoding: base64\r
\r
JVBERi0xLjQKJcfsj6IK\r
--b1--\r
""",
    )

    parsed = parse_email(raw)
    event = email_to_event(raw, provider="smtp", source="email")

    assert parsed.text.strip() == "See the RFP."
    assert [(a.filename, a.content_type, a.size) for a in parsed.attachments] == [
        ("rfp.pdf", "application/pdf", 15)
    ]
    assert event.fields["attachments"][0]["filename"] == "rfp.pdf"
    assert "JVBER" not in (event.body_text or "")


def test_forwarded_lead_is_attributed_to_the_buyer() -> None:
    raw = mail(
        """
From: Sam Colleague <sam@northwindledger.example>
Subject: Fwd: Quote for invoice processing
Message-ID: <fwd-1@northwindledger.example>
Content-Type: text/plain; charset=utf-8
""",
        b"""FYI, hot one.\r
\r
---------- Forwarded message ---------\r
From: Nadia Okafor <nadia@okafor-logistics.example>\r
Date: Mon, 9 Mar 2026 at 10:02\r
Subject: Quote for invoice processing\r
To: <info@northwindledger.example>\r
\r
We process 9,000 invoices a month; can you quote?\r
""",
    )

    event = email_to_event(raw, provider="smtp", source="email")

    assert event.person.email == "nadia@okafor-logistics.example"
    assert event.person.first_name == "Nadia" and event.person.last_name == "Okafor"
    assert event.fields["forwarded_by"] == "sam@northwindledger.example"


def test_forward_as_attached_message_uses_the_inner_sender() -> None:
    raw = mail(
        """
From: sam@northwindledger.example
Subject: see attached lead
Content-Type: multipart/mixed; boundary="outer"
""",
        b"""--outer\r
Content-Type: text/plain\r
\r
Forwarding this.\r
--outer\r
Content-Type: message/rfc822\r
\r
From: Ines Duarte <ines@duarte-foods.example>\r
Subject: pricing\r
\r
How much for 3 entities?\r
--outer--\r
""",
    )

    assert parse_email(raw).buyer == ("Ines Duarte", "ines@duarte-foods.example")


def test_broken_mime_never_raises_and_keeps_text() -> None:
    raw = mail(
        """
From: someone@broken-mailer.example
Subject: hello
Content-Type: multipart/alternative; boundary="never-used"
Content-Transfer-Encoding: 7-bit
""",
        b"Just plain words with no parts at all.\r\n",
    )
    bad_base64 = mail(
        """
From: x@bad-b64.example
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64
""",
        b"SGVsbG8gd29ybGQ===!!",
    )

    assert "plain words" in parse_email(raw).text
    assert parse_email(bad_base64).from_address == "x@bad-b64.example"
    assert parse_email(b"").text == ""


def test_delivery_report_is_recorded_not_a_lead() -> None:
    raw = mail(
        """
From: MAILER-DAEMON@mx.example
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="r"
""",
        b"""--r\r
Content-Type: text/plain\r
\r
Your message could not be delivered.\r
--r\r
Content-Type: message/delivery-status\r
\r
Final-Recipient: rfc822; gone@nowhere.example\r
Status: 5.1.1\r
--r--\r
""",
    )

    event = email_to_event(raw, provider="smtp", source="email")

    assert event.kind == "status" and not event.creates_lead


def test_same_message_twice_has_one_dedupe_key() -> None:
    raw = mail(
        """
From: a@repeat.example
Subject: twice
Message-ID: <same@repeat.example>
""",
        b"hello",
    )

    first = email_to_event(raw, provider="smtp", source="email")
    second = email_to_event(raw + b"\r\n", provider="mailgun", source="email")

    assert first.dedupe_key == second.dedupe_key
    assert first.raw is not None and first.raw.endswith("hello")


def test_email_reply_attaches_to_the_first_message(runtime) -> None:  # type: ignore[no-untyped-def]
    first = mail(
        """
From: Kofi Mensah <kofi@mensah-retail.example>
Subject: demo?
Message-ID: <first@mensah-retail.example>
""",
        b"Can we get a demo?",
    )
    reply = mail(
        """
From: Kofi Mensah <kofi@mensah-retail.example>
Subject: Re: demo?
Message-ID: <second@mensah-retail.example>
In-Reply-To: <first@mensah-retail.example>
References: <first@mensah-retail.example>
""",
        b"Also, Tuesday works.",
    )

    lead = ingest(runtime, email_to_event(first, provider="smtp", source="email"))
    follow = ingest(runtime, email_to_event(reply, provider="smtp", source="email"))

    assert lead.created_lead and not follow.created_lead
    assert follow.contact_id == lead.contact_id and follow.owner_id == lead.owner_id


def test_a_buyer_forwarding_their_colleagues_mail_stays_the_lead(workspace) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.capture.email_parse import team_domains

    raw = mail(
        """
From: Nadia Okafor <nadia@okafor-logistics.example>
Subject: Fwd: requirements from our CFO
Content-Type: text/plain; charset=utf-8
""",
        b"""See below.\r
\r
---------- Forwarded message ---------\r
From: Chidi Okafor <cfo@okafor-logistics.example>\r
\r
We need approvals in two steps.\r
""",
    )
    domains = team_domains(workspace)

    event = email_to_event(raw, provider="smtp", source="email", team_domains=domains)

    assert "northwindledger.example" in domains
    assert event.person.email == "nadia@okafor-logistics.example"


def test_a_from_without_an_address_falls_back_to_reply_to() -> None:
    raw = mail(
        """
From: Website Visitor
Reply-To: visitor@harbourview-dental.example
Subject: question
""",
        b"Do you integrate with Xero?",
    )

    parsed = parse_email(raw)

    assert parsed.from_name == "Website Visitor"
    assert parsed.from_address == "visitor@harbourview-dental.example"


def test_utf8_with_a_cut_last_byte_still_reads_as_utf8() -> None:
    from firsttouch.capture.charsets import decode_bytes

    data = "Юникод запрещен".encode()[:-1] + b" <a@b.example>"
    text, used = decode_bytes(data)

    assert text.startswith("Юникод запреще") and used == "utf-8?"
    assert text.endswith("<a@b.example>")


def test_html_body_without_mime_charset_uses_its_meta_tag() -> None:
    html = (
        '<html><head><meta charset="windows-1251"></head>'
        "<body>Привет, нужна демонстрация</body></html>"
    )
    raw = mail(
        """
From: ivan@sibir-logistika.example
Subject: demo
Content-Type: text/html
""",
        html.encode("cp1251"),
    )

    assert "Привет, нужна демонстрация" in parse_email(raw).text
