"""Learn from past leads which ICP criteria predict conversion, and how well
the written ICP ranks them.

A history file is a CSV of past leads, one column per fact and one outcome
column (0/1, yes/no, true/false). Each row is scored with the written ICP;
each criterion's share (0-1) becomes one feature. Then:

* ``learn`` fits a calibrated logistic regression on those shares, reports
  each criterion's strength (its coefficient on standardised shares and its
  own AUC) and suggests weights (positive coefficients scaled to 100);
* ``evaluate`` compares, on the same stratified folds, the written score's
  AUC, the learned model's (cross-validated) and a plain logistic
  regression on the raw columns (one-hot categories), with the conversion
  rate in the top score decile against the base rate.

Columns filled in after first contact leak the outcome: name them in
``exclude`` so they are never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import StandardScaler

from firsttouch.errors import InputError
from firsttouch.qualify.facts import FactSheet, fact_name
from firsttouch.qualify.providers.countries import country_code
from firsttouch.qualify.providers.offline import EmailProvider, TitleProvider
from firsttouch.qualify.scoring import Scorer
from firsttouch.workspace.icp import Icp

TRUE_WORDS = frozenset({"1", "yes", "true", "y", "won", "converted"})
FALSE_WORDS = frozenset({"0", "no", "false", "n", "lost", "", "nan"})
UNANSWERED = ("select",)


@dataclass
class History:
    frame: pd.DataFrame
    facts: list[FactSheet]
    labels: np.ndarray

    @property
    def base_rate(self) -> float:
        return float(self.labels.mean())


def _label(value: Any, column: str, row: int) -> int:
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return 1
    if text in FALSE_WORDS:
        return 0
    raise InputError(
        f"row {row}: {column}={value!r} is not 0/1, yes/no or true/false", field=column
    )


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str) and (
        not value.strip() or value.strip().lower().startswith(UNANSWERED)
    ):
        return None
    return value


_DERIVED = (EmailProvider(), TitleProvider())


def history_facts(row: dict[str, Any], names: dict[str, str]) -> FactSheet:
    """One past lead's facts, by fact name, with what its address and title say.

    ``country`` is read as an ISO code; an ``email`` and a ``title`` column
    give the email type, seniority and function exactly as a live lead's do.
    """
    facts = FactSheet()
    for column, name in names.items():
        value = _clean(row.get(column))
        if name == "country":
            value = country_code(value) if value is not None else None
        facts.add(name, value, "history")
    for provider in _DERIVED:
        key = provider.key(facts)
        if key:
            facts.merge(provider.lookup(key, facts), provider.name)
    return facts


def read_history(
    path: str | Path, outcome: str, exclude: Sequence[str] = ()
) -> History:
    """Read a history CSV; ``outcome`` names the 0/1 column."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, low_memory=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the history file {path}: {exc}") from exc
    if outcome not in frame.columns:
        raise InputError(
            f"{path} has no outcome column {outcome!r}; columns are "
            f"{list(frame.columns)[:20]}",
            field=outcome,
        )
    dropped = [c for c in exclude if c in frame.columns]
    frame = frame.drop(columns=dropped)
    labels = np.array([_label(v, outcome, i + 2) for i, v in enumerate(frame[outcome])])
    if len(set(labels.tolist())) < 2:
        raise InputError(f"{path}: every row has the same outcome; nothing to learn")
    names = {str(c): fact_name(str(c)) for c in frame.columns if c != outcome}
    rows = frame.drop(columns=[outcome]).to_dict("records")
    facts = [history_facts(row, names) for row in rows]
    return History(frame.drop(columns=[outcome]), facts, labels)


def criterion_matrix(
    icp: Icp, facts: Sequence[FactSheet]
) -> tuple[np.ndarray, np.ndarray]:
    """(shares per criterion, written total) for every lead."""
    scorer = Scorer(icp)
    shares = np.zeros((len(facts), len(icp.criteria)))
    totals = np.zeros(len(facts))
    for i, sheet in enumerate(facts):
        score = scorer.score(sheet)
        shares[i] = [c.share for c in score.criteria]
        totals[i] = score.total
    return shares, totals


@dataclass(frozen=True)
class CriterionStrength:
    name: str
    written_weight: float
    coefficient: float
    auc: float
    suggested_weight: float


@dataclass
class Learned:
    rows: int
    base_rate: float
    strengths: list[CriterionStrength]
    brier: float
    model: Any = field(repr=False)

    def render(self) -> str:
        lines = [
            f"learned from {self.rows} leads, base rate {self.base_rate:.3f}, "
            f"calibrated Brier score {self.brier:.3f}",
            f"{'criterion':28} {'written':>8} {'strength':>9} {'auc':>6} "
            f"{'suggested':>9}",
        ]
        for s in sorted(self.strengths, key=lambda s: -s.coefficient):
            lines.append(
                f"{s.name[:28]:28} {s.written_weight:8.1f} "
                f"{s.coefficient:+9.3f} {s.auc:6.3f} {s.suggested_weight:9.1f}"
            )
        return "\n".join(lines)


def _auc(labels: np.ndarray, values: np.ndarray) -> float:
    if np.all(values == values[0]):
        return 0.5
    return float(roc_auc_score(labels, values))


def _fit(shares: np.ndarray, labels: np.ndarray) -> Any:
    model = CalibratedClassifierCV(
        LogisticRegression(max_iter=1000), method="sigmoid", cv=3
    )
    return model.fit(StandardScaler().fit_transform(shares), labels)


def learn(icp: Icp, history: History) -> Learned:
    """Fit a calibrated model on the criteria's shares; suggest weights."""
    shares, _ = criterion_matrix(icp, history.facts)
    scaled = StandardScaler().fit_transform(shares)
    plain = LogisticRegression(max_iter=1000).fit(scaled, history.labels)
    calibrated = _fit(shares, history.labels)
    probabilities = calibrated.predict_proba(scaled)[:, 1]

    coefficients = plain.coef_[0]
    positive = np.clip(coefficients, 0, None)
    total = positive.sum()
    suggested = positive / total * 100 if total > 0 else np.zeros_like(positive)
    strengths = [
        CriterionStrength(
            c.name,
            c.weight,
            float(coefficients[i]),
            _auc(history.labels, shares[:, i]),
            float(suggested[i]),
        )
        for i, c in enumerate(icp.criteria)
    ]
    return Learned(
        len(history.labels),
        history.base_rate,
        strengths,
        float(brier_score_loss(history.labels, probabilities)),
        calibrated,
    )


def top_decile_rate(scores: np.ndarray, labels: np.ndarray) -> float:
    """Conversion among the best-scored tenth (ties broken by row order)."""
    order = np.argsort(-scores, kind="stable")
    top = order[: max(1, len(order) // 10)]
    return float(labels[top].mean())


@dataclass(frozen=True)
class Evaluation:
    rows: int
    folds: int
    base_rate: float
    auc_written: float
    auc_learned: float
    auc_baseline: float
    top_decile_written: float
    top_decile_learned: float

    def render(self) -> str:
        return (
            f"{self.rows} leads, {self.folds}-fold, base rate {self.base_rate:.3f}\n"
            f"written ICP   auc {self.auc_written:.3f}  top decile "
            f"{self.top_decile_written:.3f}\n"
            f"learned model auc {self.auc_learned:.3f}  top decile "
            f"{self.top_decile_learned:.3f}\n"
            f"baseline (logistic regression on raw columns) auc {self.auc_baseline:.3f}"
        )


def _raw_features(frame: pd.DataFrame) -> np.ndarray:
    numeric = frame.select_dtypes(include="number").fillna(0)
    numeric = np.log1p(numeric.clip(lower=0))
    categories = frame.select_dtypes(exclude="number").astype(str)
    categories = categories.loc[:, categories.nunique() <= 200]
    dummies = pd.get_dummies(categories, dummy_na=False)
    return np.asarray(pd.concat([numeric, dummies], axis=1).astype(float))


def evaluate(icp: Icp, history: History, folds: int = 5, seed: int = 0) -> Evaluation:
    """Rank quality of the written ICP, the learned model and a plain baseline."""
    shares, totals = criterion_matrix(icp, history.facts)
    labels = history.labels
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    learned = cross_val_predict(
        LogisticRegression(max_iter=1000),
        StandardScaler().fit_transform(shares),
        labels,
        cv=splitter,
        method="predict_proba",
    )[:, 1]
    raw = StandardScaler().fit_transform(_raw_features(history.frame))
    baseline = cross_val_predict(
        LogisticRegression(max_iter=2000),
        raw,
        labels,
        cv=splitter,
        method="predict_proba",
    )[:, 1]
    return Evaluation(
        rows=len(labels),
        folds=folds,
        base_rate=history.base_rate,
        auc_written=_auc(labels, totals),
        auc_learned=_auc(labels, learned),
        auc_baseline=_auc(labels, baseline),
        top_decile_written=top_decile_rate(totals, labels),
        top_decile_learned=top_decile_rate(learned, labels),
    )
