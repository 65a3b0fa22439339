"""The ICP section: the written ideal customer profile that scoring reads."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from firsttouch.workspace.team import Strict


class Criterion(Strict):
    name: str
    weight: float = Field(ge=0)
    kind: str
    rules: dict[str, Any] = Field(default_factory=dict)


class Disqualifier(Strict):
    kind: str
    values: list[str] = Field(default_factory=list)
    reason: str | None = None


class Routes(Strict):
    rep_now: int = Field(default=70, ge=0, le=100)
    fast_track: int = Field(default=40, ge=0, le=100)


class Icp(Strict):
    version: str
    description: str | None = None
    criteria: list[Criterion] = Field(default_factory=list)
    disqualifiers: list[Disqualifier] = Field(default_factory=list)
    routes: Routes = Field(default_factory=Routes)
