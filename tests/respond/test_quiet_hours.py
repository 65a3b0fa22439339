"""Quiet hours follow the recipient's zone and the strictest rule in force."""

from __future__ import annotations

from datetime import UTC, datetime

from firsttouch.respond.quiet_hours import (
    Recipient,
    attempt_cap,
    next_allowed,
    place_recipient,
)


def test_an_arizona_number_is_phoenix_not_denver() -> None:
    placement = place_recipient(Recipient(phone_e164="+16025550100"), "UTC")
    assert placement.zones == ("America/Phoenix",)
    assert placement.zone_source == "area_code"


def test_an_explicit_zone_wins_over_the_number() -> None:
    placement = place_recipient(
        Recipient(timezone="Europe/Berlin", phone_e164="+16025550100"), "UTC"
    )
    assert placement.zones == ("Europe/Berlin",)


def test_a_florida_number_gets_8pm_and_three_attempts() -> None:
    placement = place_recipient(Recipient(phone_e164="+13055550100"), "UTC")
    # 20:30 in Miami (EDT, UTC-4) is after Florida's 20:00 close.
    late = datetime(2026, 6, 2, 0, 30, tzinfo=UTC)
    assert next_allowed(late, placement) == datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
    assert attempt_cap(placement) == 3


def test_2230_local_moves_to_0800_local_across_the_dst_change() -> None:
    # Saturday 7 March 2026, 22:30 in New York (EST, UTC-5); clocks spring
    # forward on Sunday 8 March, so 08:00 that morning is EDT (UTC-4).
    placement = place_recipient(Recipient(phone_e164="+12125550100"), "UTC")
    evening = datetime(2026, 3, 8, 3, 30, tzinfo=UTC)
    assert next_allowed(evening, placement) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def test_inside_the_window_a_send_goes_now() -> None:
    placement = place_recipient(Recipient(phone_e164="+12125550100"), "UTC")
    noon = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    assert next_allowed(noon, placement) == noon


def test_a_split_area_code_must_be_open_in_both_zones() -> None:
    # 850 spans Eastern and Central Florida: 08:00 Central is the later opening.
    placement = place_recipient(Recipient(phone_e164="+18505550100"), "UTC")
    early = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)  # 07:00 EDT, 06:00 CDT
    assert next_allowed(early, placement) == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
