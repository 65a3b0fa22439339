"""The values the leak score hands back: plain data, safe to serialise.

Every label that came from an export (a channel, an owner, a stage) has
already been defused by ``cells.defuse_formula`` before it lands here, so any
writer (JSON, HTML, CSV, terminal) can print these models as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

LayerName = Literal["capture", "respond", "qualify", "nurture", "crm"]

LAYER_ORDER: tuple[LayerName, ...] = ("capture", "respond", "qualify", "nurture", "crm")

LAYER_TITLES: dict[LayerName, str] = {
    "capture": "Capture",
    "respond": "Respond",
    "qualify": "Qualify",
    "nurture": "Nurture",
    "crm": "CRM hygiene",
}


class Figure(BaseModel):
    """One measured number (or a short text) behind a layer's score."""

    key: str
    label: str
    value: float | int | str | None
    unit: str = ""
    note: str = ""


class ScorePart(BaseModel):
    """One scored ingredient of a layer: the metric, its 0-100 mark and weight.

    ``score`` is None when the columns it needs are missing; ``reason`` then
    says which.
    """

    key: str
    label: str
    metric: float | None
    unit: str
    score: float | None
    weight: float
    scale: str
    reason: str = ""


class LayerResult(BaseModel):
    """A layer's 0-100 score, or None with the reason there is no data."""

    layer: LayerName
    title: str
    score: int | None
    no_data_reason: str = ""
    parts: list[ScorePart] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
    needs: list[str] = Field(default_factory=list)


class Leak(BaseModel):
    """The weakest scored layer, said in plain words, with what to do."""

    layer: LayerName
    title: str
    score: int
    headline: str
    advice: list[str]


class Assumption(BaseModel):
    """An input to the estimate: where it comes from and whether it may change."""

    key: str
    label: str
    value: float | None
    unit: str = ""
    origin: str
    adjustable: bool = True


class Citation(BaseModel):
    """A published speed-to-lead figure the estimate leans on."""

    key: str
    text: str
    reference: str


class RecoverableEstimate(BaseModel):
    """Pipeline that faster first response might recover: an estimate, not a fact."""

    available: bool
    reason: str = ""
    value: float | None = None
    extra_won_deals: float | None = None
    slow_leads: int | None = None
    method: str
    assumptions: list[Assumption]
    citations: list[Citation]


class HistogramBin(BaseModel):
    """One bar of a distribution chart."""

    label: str
    count: int


class StageAging(BaseModel):
    """Open deals in one stage: how old they are and how many are past the limit."""

    stage: str
    open_deals: int
    with_age: int
    median_age_days: float | None
    limit_days: float | None
    limit_origin: str
    past_limit: int
    age_bins: list[HistogramBin]


class Heatmap(BaseModel):
    """Hour-of-week grid (Monday first) of inbound counts and median response."""

    timezone: str
    counts: list[list[int]]
    median_minutes: list[list[float | None]]


class Charts(BaseModel):
    """Pre-binned chart data; the engine bins so charts never see raw rows."""

    response_minutes: list[HistogramBin] = Field(default_factory=list)
    heatmap: Heatmap | None = None
    touches_per_lead: list[HistogramBin] = Field(default_factory=list)
    reply_rate_by_touch: list[Figure] = Field(default_factory=list)
    stage_aging: list[StageAging] = Field(default_factory=list)


class InputProblem(BaseModel):
    """One value that could not be read: file, data row (1-based), column, value."""

    file: str
    row: int
    column: str
    value: str
    message: str


class ColumnReport(BaseModel):
    """What the auto-mapper found: which export column feeds which field."""

    detected_source: str
    detection_note: str
    mapped: dict[str, str]
    missing: list[str]
    unmapped: list[str]
    notes: list[str] = Field(default_factory=list)


class InputSummary(BaseModel):
    """Where the records came from and what happened to every row."""

    origin: str
    rows_read: int
    rows_used: int
    blank_rows: int = 0
    duplicate_rows: int = 0
    problem_count: int = 0
    problems: list[InputProblem] = Field(default_factory=list)
    columns: ColumnReport | None = None
    notes: list[str] = Field(default_factory=list)


class LeakReport(BaseModel):
    """The whole Revenue Leak Score for one team and one moment."""

    as_of: datetime
    as_of_note: str
    timezone: str
    records: int
    layers: list[LayerResult]
    biggest_leak: Leak | None
    no_leak_reason: str = ""
    estimate: RecoverableEstimate
    charts: Charts
    input: InputSummary

    def layer(self, name: LayerName) -> LayerResult:
        """Return the result for one layer by name."""
        return next(result for result in self.layers if result.layer == name)

    def scores(self) -> dict[str, object]:
        """The headline in plain data: each layer's score, the mean, the biggest leak.

        ``overall`` is the mean of the layers that could be scored (None
        when none could); a layer without data is None, never zero.
        """
        scored = [result.score for result in self.layers if result.score is not None]
        return {
            "overall": round(sum(scored) / len(scored)) if scored else None,
            "biggest": self.biggest_leak.layer if self.biggest_leak else None,
            "headline": self.biggest_leak.headline if self.biggest_leak else "",
            "layers": {result.layer: result.score for result in self.layers},
        }

    @property
    def layers_scored(self) -> int:
        """How many layers had enough data to score."""
        return sum(1 for result in self.layers if result.score is not None)
