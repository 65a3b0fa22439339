"""The ICP section is checked on load: unknown kinds, misspelt rule keys and
inverted thresholds are errors that name the criterion."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from firsttouch.workspace.icp import Icp


def _check(data: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as caught:
        Icp.model_validate({"version": "1", **data})
    return str(caught.value)


def test_an_unknown_criterion_kind_is_named() -> None:
    text = _check({"criteria": [{"name": "vibes", "kind": "mood", "weight": 1}]})
    assert "'vibes'" in text and "unknown kind 'mood'" in text


def test_a_misspelt_rule_key_is_an_error_not_a_zero() -> None:
    text = _check(
        {
            "criteria": [
                {
                    "name": "size",
                    "kind": "employees",
                    "weight": 1,
                    "rules": {"bandz": []},
                }
            ]
        }
    )
    assert "criterion 'size' rules" in text


def test_an_unknown_seniority_level_is_refused() -> None:
    text = _check(
        {
            "criteria": [
                {
                    "name": "role",
                    "kind": "title",
                    "weight": 1,
                    "rules": {"seniority": {"boss": 1.0}},
                }
            ]
        }
    )
    assert "unknown seniority" in text


def test_fast_track_above_rep_now_is_refused() -> None:
    assert "fast track must be the lower" in _check(
        {"routes": {"rep_now": 40, "fast_track": 70}}
    )


def test_an_unknown_disqualifier_is_refused() -> None:
    assert "unknown disqualifier kind" in _check({"disqualifiers": [{"kind": "rude"}]})


def test_network_sources_are_off_unless_turned_on() -> None:
    enrichment = Icp.model_validate({"version": "1"}).enrichment
    assert not enrichment.dns.enabled
    assert not enrichment.website.enabled
    assert not enrichment.paid_api.enabled
    assert not enrichment.llm_brief.enabled
    assert enrichment.paid_api.base_url is None
