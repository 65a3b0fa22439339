"""The worker finds every respond job kind, including the delegated ones."""

from __future__ import annotations

from firsttouch.runtime import Runtime
from firsttouch.worker import build_handlers


def test_every_respond_kind_has_one_handler(runtime: Runtime) -> None:
    kinds = set(build_handlers(runtime))
    assert {
        "respond.first_touch",
        "respond.send_touch",
        "respond.sla_check",
        "respond.sla_escalate",
        "respond.consent",
        "respond.alert_owner",
        "respond.call_bridge",
    } <= kinds
