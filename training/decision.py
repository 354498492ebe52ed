"""The decision box: what a leader must know before signing, built from the records alone.

Whether the version passes the automatic gates (every reason when not), its verdict against
the best baseline and the champion in words with the interval (`training.verdict` through
`training.promote.check_gates`, so the box says what `handoff promote` would), what changes
for the BDR team if it is promoted (each box's share of new leads, leads a week, tiers and
speed-to-lead targets, beside the champion's on the same test leads), and the sign-offs
still needed (`models.mlflow_layout.signoff_problems`). The report and the review page show
the same box (`templates/decision.html.j2`).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from models import mlflow_layout as layout
from models.mlflow_layout import POLICY_FILE, run_id_of, signoff_problems
from models.policy import QUADRANTS, QuadrantPolicy, to_score
from models.settings import Settings
from models.wording import duration
from training.promote import GateCheck
from training.report_metrics import weekly_rate
from training.sample_size import run_choice_sentence
from training.verdict import NO_SIGNAL, WORDS, Verdict
from training.versions import get_version

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion


@dataclass(frozen=True)
class BoxShare:
    """One quadrant under one model: its action, tier, target and the leads it gets."""

    quadrant: str
    action: str
    tier: int
    speed_to_lead_minutes: int
    leads: int
    share: float
    per_week: float


@dataclass(frozen=True)
class Decision:
    """The box's content, every sentence read from the run's records."""

    passes: bool
    gate_reasons: list[str]  # every automatic gate it fails (empty: all pass)
    chance: str  # the verdict against chance, with the AUC interval
    against_baseline: str
    against_champion: str
    leads_counted: str  # which leads the shares below are counted on
    shares: list[BoxShare]
    champion_shares: list[BoxShare] | None  # the champion's on the same leads, when scored
    team_changes: list[str]
    signoffs_needed: list[str]  # every reason the sign-offs do not allow it yet
    # Which learner family serves and when LightGBM overtakes it (`sample_size.choice_sentence`);
    # empty for runs trained before learners were chosen, and then nothing is shown.
    family: str = field(default="")


def box_shares(
    fit_probability: npt.ArrayLike,
    interest_probability: npt.ArrayLike,
    policy: QuadrantPolicy,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> list[BoxShare]:
    """Each quadrant's leads under `policy`, as a share and per week of [start, end]."""
    codes = policy.codes(to_score(fit_probability), to_score(interest_probability))
    counts = np.bincount(codes, minlength=len(QUADRANTS))
    total = max(int(counts.sum()), 1)
    return [
        BoxShare(
            quadrant=q,
            action=policy.actions[q].action,
            tier=policy.actions[q].tier,
            speed_to_lead_minutes=policy.actions[q].speed_to_lead_minutes,
            leads=int(counts[i]),
            share=float(counts[i]) / total,
            per_week=weekly_rate(int(counts[i]), start, end),
        )
        for i, q in enumerate(QUADRANTS)
    ]


def _a_week(n: float) -> str:
    return f"{n:,.1f}" if abs(n) < 10 else f"{n:,.0f}"


def _box_name(quadrant: str) -> str:
    return quadrant.replace("_", " ")


def team_changes(
    ours: list[BoxShare], theirs: list[BoxShare] | None, champion: str | None
) -> list[str]:
    """What promotion changes for the BDR team, box by box, then the speed-to-lead load."""
    lines = []
    for i, box in enumerate(ours):
        line = (
            f"{_box_name(box.quadrant)} (tier {box.tier}, {box.action}): {box.share:.0%} of new "
            f"leads, {_a_week(box.per_week)} a week, each within "
            f"{duration(box.speed_to_lead_minutes)}"
        )
        if theirs is not None:
            old = theirs[i]
            line += (
                f"; champion version {champion}: {old.share:.0%}, {_a_week(old.per_week)} a week "
                f"within {duration(old.speed_to_lead_minutes)} "
                f"({_a_week(box.per_week - old.per_week)} a week more)"
                if box.per_week >= old.per_week
                else f"; champion version {champion}: {old.share:.0%}, "
                f"{_a_week(old.per_week)} a week within {duration(old.speed_to_lead_minutes)} "
                f"({_a_week(old.per_week - box.per_week)} a week fewer)"
            )
        lines.append(line)
    lines.append("speed-to-lead load: " + _load(ours))
    if theirs is not None:
        lines.append(f"speed-to-lead load under champion version {champion}: " + _load(theirs))
    return lines


def _load(shares: list[BoxShare]) -> str:
    """Leads a week per speed-to-lead target, fastest first."""
    by_target: dict[int, float] = {}
    for box in shares:
        by_target[box.speed_to_lead_minutes] = by_target.get(box.speed_to_lead_minutes, 0.0)
        by_target[box.speed_to_lead_minutes] += box.per_week
    return "; ".join(
        f"{_a_week(n)} leads a week to reach within {duration(minutes)}"
        for minutes, n in sorted(by_target.items())
    )


def _against_champion(check: GateCheck, is_champion: bool) -> str:
    if is_champion:
        return "this version is the champion: it is serving now"
    if check.comparison is None:
        return "there is no champion: promoting it makes it the first version to route leads"
    if check.verdict is not None and check.verdict.champion is not None:
        return check.verdict.champion.sentence()
    return (
        f"cannot be judged against champion version {check.comparison.champion_version} "
        f"with an interval ({check.comparison.note})"
    )


def _chance(verdict: Verdict | None) -> str:
    if verdict is None:
        return "no verdict: the run's test window cannot be read to judge it"
    return WORDS[NO_SIGNAL if verdict.no_signal else "signal"].format(auc=verdict.auc.text())


def build_decision(
    check: GateCheck,
    *,
    tags: dict[str, str],
    scores: pd.DataFrame,
    policy: QuadrantPolicy,
    test_window: dict[str, Any],
    champion_policy: QuadrantPolicy | None,
    is_champion: bool,
    family: str = "",
) -> Decision:
    """The box for one version: `check` from `check_gates`, `scores` its logged test scores
    (fit and interest probabilities per lead), `policy` its thresholds and actions."""
    start, end = pd.Timestamp(test_window["start"]), pd.Timestamp(test_window["end"])
    ours = box_shares(
        scores["fit_probability"].to_numpy(dtype=float),
        scores["interest_probability"].to_numpy(dtype=float),
        policy,
        start,
        end,
    )
    comparison = None if is_champion else check.comparison
    theirs = None
    if comparison is not None and comparison.parts is not None and champion_policy is not None:
        parts = comparison.parts.reindex(scores.index)
        if parts.notna().all().all():
            theirs = box_shares(
                parts["fit_probability"].to_numpy(dtype=float),
                parts["interest_probability"].to_numpy(dtype=float),
                champion_policy,
                start,
                end,
            )
    counted = f"this version's {len(scores):,} test-window leads"
    if comparison is not None and theirs is None:
        counted += (
            f"; champion version {comparison.champion_version} could not be counted on the same "
            f"leads ({comparison.note})"
        )
    verdict = check.verdict
    return Decision(
        passes=not check.failures,
        gate_reasons=list(check.failures),
        chance=_chance(verdict),
        against_baseline=(
            verdict.baseline.sentence()
            if verdict is not None and verdict.baseline is not None
            else "no baseline was scored on this run's test window"
        ),
        against_champion=_against_champion(check, is_champion),
        leads_counted=counted,
        shares=ours,
        champion_shares=theirs,
        team_changes=team_changes(
            ours, theirs, None if comparison is None else comparison.champion_version
        ),
        signoffs_needed=signoff_problems(tags),
        family=family,
    )


def verdict_line(check: GateCheck | None, verdict: Verdict | None) -> str | None:
    """The box's verdict in one line, for the versions list: against the best baseline
    (or chance) and, when judged, the champion."""
    verdict = check.verdict if check is not None and check.verdict is not None else verdict
    if verdict is None:
        return None
    line = verdict.headline()
    if verdict.champion is not None:
        line += "; " + verdict.champion.sentence()
    return line


def _run_json(run_id: str, path: str) -> Any:
    from mlflow.artifacts import download_artifacts

    with tempfile.TemporaryDirectory(prefix="handoff-decision-") as tmp:
        local = download_artifacts(run_id=run_id, artifact_path=path, dst_path=tmp)
        return json.loads(Path(local).read_text(encoding="utf-8"))


def champion_policy_of(
    client: MlflowClient, settings: Settings, check: GateCheck
) -> QuadrantPolicy | None:
    """The champion's thresholds and actions, when `check` compared with one."""
    if check.comparison is None:
        return None
    champ = get_version(client, settings, check.comparison.champion_version)
    return QuadrantPolicy.model_validate(_run_json(run_id_of(champ), POLICY_FILE))


def load_decision(
    client: MlflowClient, settings: Settings, mv: ModelVersion, check: GateCheck, *, champion: bool
) -> Decision:
    """`build_decision` from what the version's run logged (for pages without its report)."""
    from mlflow.artifacts import download_artifacts

    run_id = run_id_of(mv)
    with tempfile.TemporaryDirectory(prefix="handoff-decision-") as tmp:
        scores_path = download_artifacts(
            run_id=run_id, artifact_path=layout.TEST_SCORES_FILE, dst_path=tmp
        )
        scores = pd.read_parquet(scores_path)
    if "lead_id" in scores.columns:
        scores = scores.set_index("lead_id")
    scores.index = scores.index.astype(str)
    summary = _run_json(run_id, layout.SUMMARY_FILE)
    return build_decision(
        check,
        tags=dict(mv.tags),
        scores=scores,
        policy=QuadrantPolicy.model_validate(_run_json(run_id, POLICY_FILE)),
        test_window=summary["windows"]["test"],
        champion_policy=None if champion else champion_policy_of(client, settings, check),
        is_champion=champion,
        family=run_choice_sentence(summary),
    )
