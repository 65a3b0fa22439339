"""The whole workspace, section by section."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from firsttouch.workspace.capture import Capture
from firsttouch.workspace.channels import Channels
from firsttouch.workspace.company import CompanyProfile
from firsttouch.workspace.icp import Icp
from firsttouch.workspace.respond import Respond
from firsttouch.workspace.routing import Form, Routing
from firsttouch.workspace.sequences import Sequence
from firsttouch.workspace.team import Strict, Team


class Workspace(Strict):
    version: int = Field(default=1, ge=1, le=1)
    company: CompanyProfile
    team: Team
    channels: Channels = Field(default_factory=Channels)
    routing: Routing = Field(default_factory=Routing)
    forms: dict[str, Form] = Field(default_factory=dict)
    icp: Icp
    respond: Respond = Field(default_factory=Respond)
    capture: Capture = Field(default_factory=Capture)
    sequences: list[Sequence] = Field(default_factory=list)
    templates: dict[str, str] = Field(default_factory=dict)
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _rep_references(self) -> Workspace:
        ids = {r.id for r in self.team.reps}
        for territory in self.routing.territories:
            unknown = [r for r in territory.reps if r not in ids]
            if unknown:
                raise ValueError(
                    f"territory {territory.name!r} names reps that are not on the "
                    f"team: {unknown}"
                )
        if self.routing.on_call and self.routing.on_call not in ids:
            raise ValueError(f"routing.on_call {self.routing.on_call!r} is not a rep")
        return self
