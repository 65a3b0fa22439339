"""Segment counting follows GSM 03.38 and UCS-2 as carriers bill them."""

from __future__ import annotations

from firsttouch.channels.sms_segments import measure_sms


def test_plain_text_of_160_characters_is_one_gsm_segment() -> None:
    size = measure_sms("a" * 160)
    assert (size.encoding, size.segments) == ("GSM-7", 1)


def test_161_gsm_characters_take_two_parts_of_153() -> None:
    assert measure_sms("a" * 161).segments == 2
    assert measure_sms("a" * 306).segments == 2
    assert measure_sms("a" * 307).segments == 3


def test_extension_characters_cost_two_septets() -> None:
    size = measure_sms("€" * 80)
    assert (size.encoding, size.units, size.segments) == ("GSM-7", 160, 1)
    assert measure_sms("€" * 81).segments == 2


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 152 plain characters then a euro: the pair cannot fit in part one.
    size = measure_sms("a" * 152 + "€" + "b" * 10)
    assert size.segments == 2
    assert measure_sms("a" * 152 + "€" + "b" * 152).segments == 3


def test_one_emoji_forces_ucs2_for_the_whole_text() -> None:
    size = measure_sms("Thanks! 😀")
    assert size.encoding == "UCS-2"
    assert size.offending == "😀"
    assert size.units == 10  # the emoji is a surrogate pair
    assert measure_sms("é" * 70).encoding == "GSM-7"
    assert measure_sms("ł" * 70).segments == 1
    assert measure_sms("ł" * 71).segments == 2
    assert measure_sms("ł" * 135).segments == 3


def test_empty_text_still_costs_one_segment() -> None:
    assert measure_sms("").segments == 1
