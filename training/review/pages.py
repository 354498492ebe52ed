"""What the review pages show, read through training's own functions (nothing recomputed here).

The problems a page lists are promotion's own: `models.mlflow_layout`'s sign-off and binding
rule and `training.promote.check_gates`, so the page says exactly what `handoff promote`
would. Comparing with the champion scores it on the candidate's test window, which takes a
while: gate checks and rendered reports are kept per (version, champion, tags), so they are
redone only when something they depend on changed.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models import mlflow_layout as layout
from models.mlflow_layout import (
    CHAMPION,
    TEAMS,
    Signoff,
    run_id_of,
    signoff_blockers,
    signoff_problems,
    version_problems,
)
from models.policy import QuadrantPolicy
from models.settings import Settings
from models.wording import duration
from training.audit import read_events
from training.champion_compare import run_verdict
from training.decision import Decision, load_decision, verdict_line
from training.promote import GateCheck, check_gates, configured_gates
from training.report import METRIC_COLUMNS, build_context, render_report
from training.versions import (
    VersionInfo,
    alias_version,
    get_version,
    list_versions,
    registry_client,
    version_info,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

METRIC_LABELS: dict[str, str] = {
    "roc_auc": "AUC (ranking: won above lost)",
    "pr_auc": "PR AUC",
    "lift_top10": "lift in the top 10%",
    "capture_top10": "share of wins in the top 10%",
    "brier": "Brier (lower is better)",
    "ece": "calibration error, ECE (lower is better)",
}


@dataclass(frozen=True)
class VersionRow:
    """One line of the versions list."""

    info: VersionInfo
    verdict: str | None
    problems: list[str]  # every reason promotion would refuse it now; empty: it may be
    serving: bool

    def signoff(self, team: str) -> Signoff | None:
        return self.info.signoffs.get(team)


@dataclass(frozen=True)
class VersionPage:
    """One version: what it is, who signed, what promotion would say, its history."""

    info: VersionInfo
    binding: str
    champion: str | None
    problems: list[str]
    gates: GateCheck | None
    history: list[dict[str, Any]]
    verdict: str | None
    decision: Decision  # the report's first box, the same here
    # What an approval must acknowledge about this version (`ACKNOWLEDGEMENTS` word -> why).
    acknowledgements: dict[str, str]


@dataclass(frozen=True)
class CompareRow:
    label: str
    candidate: float | str | None
    champion: float | str | None
    better: str  # "candidate", "champion" or ""


@dataclass(frozen=True)
class Comparison:
    candidate: VersionInfo
    champion: VersionInfo
    note: str
    metrics: list[CompareRow]
    policy: list[CompareRow]


class ReviewData:
    """The pages' reads, with the slow parts kept until what they depend on changes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._gates: dict[tuple[str, str, str | None], GateCheck] = {}
        self._decisions: dict[tuple[str, str, str | None], Decision] = {}
        self._reports: dict[tuple[str, str, str | None], str] = {}
        self._lock = threading.Lock()

    def client(self) -> MlflowClient:
        return registry_client(self.settings)

    def champion(self) -> str | None:
        return alias_version(self.client(), self.settings, CHAMPION)

    def rows(self) -> list[VersionRow]:
        """Every version, newest first; the champion's own gates are not checked against
        itself."""
        client, champion = self.client(), self.champion()
        rows = []
        for info in list_versions(self.settings):
            mv = get_version(client, self.settings, info.version)
            tags = dict(mv.tags)
            listed = [b for b in info.blockers if b not in signoff_blockers(tags)]
            problems = signoff_problems(tags) + listed
            serving = info.version == champion
            check = None if serving else self.gate_check(client, mv, champion)
            if check is not None:
                problems += check.failures
            rows.append(VersionRow(info, self._verdict_line(mv, check), problems, serving))
        return rows

    def page(self, version: str) -> VersionPage:
        """A version as promotion sees it now (its files re-hashed)."""
        client, champion = self.client(), self.champion()
        mv = get_version(client, self.settings, version)
        info = version_info(self.settings, mv.version)
        serving = info.version == champion
        gates = None if serving else self.gate_check(client, mv, champion)
        problems = version_problems(mv) + (gates.failures if gates else [])
        return VersionPage(
            info=info,
            binding=dict(mv.tags).get(layout.BINDING_TAG, ""),
            champion=champion,
            problems=problems,
            gates=gates,
            history=read_events(self.settings, version=info.version),
            verdict=self._verdict_line(mv, gates),
            decision=self.decision(client, mv, champion, serving=serving),
            acknowledgements=layout.needed_acknowledgements(dict(mv.tags)),
        )

    def _verdict_line(self, mv: ModelVersion, check: GateCheck | None) -> str | None:
        if check is not None:
            return verdict_line(check, None)
        try:
            return verdict_line(None, run_verdict(run_id_of(mv)).with_champion(None))
        except Exception:  # a run with neither a verdict nor test scores: no line to show
            return None

    def decision(
        self, client: MlflowClient, mv: ModelVersion, champion: str | None, *, serving: bool
    ) -> Decision:
        """The decision box, kept per (version, tags, champion): sign-offs change its end."""
        champion = None if serving else champion
        key = (str(mv.version), _fingerprint(dict(mv.tags)), champion)
        with self._lock:
            if key in self._decisions:
                return self._decisions[key]
        decision = load_decision(
            client,
            self.settings,
            mv,
            self.gate_check(client, mv, champion),
            champion=serving,
        )
        with self._lock:
            self._decisions[key] = decision
        return decision

    def gate_check(self, client: MlflowClient, mv: ModelVersion, champion: str | None) -> GateCheck:
        """`check_gates` under the configured bounds, kept per (version, binding, champion)."""
        key = (str(mv.version), dict(mv.tags).get(layout.BINDING_TAG, ""), champion)
        with self._lock:
            if key in self._gates:
                return self._gates[key]
        check = check_gates(client, self.settings, mv, champion, configured_gates(self.settings))
        with self._lock:
            self._gates[key] = check
        return check

    def report(self, version: str) -> str:
        """The version's review report, as `handoff report` writes it."""
        client = self.client()
        mv = get_version(client, self.settings, version)
        key = (str(mv.version), _fingerprint(dict(mv.tags)), self.champion())
        with self._lock:
            if key in self._reports:
                return self._reports[key]
        with tempfile.TemporaryDirectory(prefix="handoff-review-") as tmp:
            html = render_report(build_context(str(mv.version), self.settings, Path(tmp)))
        with self._lock:
            self._reports[key] = html
        return html

    def comparison(self, version: str) -> Comparison | None:
        """The candidate beside the champion (None when there is no other champion)."""
        client, champion = self.client(), self.champion()
        if champion is None or champion == str(version):
            return None
        mv = get_version(client, self.settings, version)
        champ_mv = get_version(client, self.settings, champion)
        check = self.gate_check(client, mv, champion)
        ours = {m: check.metrics.get(f"test_combined_{m}") for m in METRIC_COLUMNS}
        theirs = check.comparison.metrics if check.comparison else {}
        metrics = [
            CompareRow(METRIC_LABELS[m], ours[m], theirs.get(m), _better(m, ours[m], theirs.get(m)))
            for m in METRIC_COLUMNS
        ]
        return Comparison(
            candidate=version_info(self.settings, mv.version),
            champion=version_info(self.settings, champion),
            note=check.comparison.note if check.comparison else "",
            metrics=metrics,
            policy=_policy_rows(
                _run_json(mv, layout.POLICY_FILE), _run_json(champ_mv, layout.POLICY_FILE)
            ),
        )


def _fingerprint(tags: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(tags.items())).encode()).hexdigest()


def _better(metric: str, ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or ours == theirs:
        return ""
    lower_is_better = metric in ("brier", "ece")
    return "candidate" if (ours < theirs) == lower_is_better else "champion"


def _run_json(mv: ModelVersion, path: str) -> dict[str, Any]:
    from mlflow.artifacts import download_artifacts

    with tempfile.TemporaryDirectory(prefix="handoff-review-") as tmp:
        local = download_artifacts(run_id=run_id_of(mv), artifact_path=path, dst_path=tmp)
        loaded: dict[str, Any] = json.loads(Path(local).read_text(encoding="utf-8"))
    return loaded


def _policy_rows(ours: dict[str, Any], theirs: dict[str, Any]) -> list[CompareRow]:
    """Thresholds and each box's action and speed-to-lead, side by side."""
    a, b = QuadrantPolicy.model_validate(ours), QuadrantPolicy.model_validate(theirs)
    rows = [
        CompareRow("fit threshold", a.fit_threshold, b.fit_threshold, ""),
        CompareRow("interest threshold", a.interest_threshold, b.interest_threshold, ""),
    ]
    for quadrant, action in a.actions.items():
        other = b.actions.get(quadrant)
        rows.append(
            CompareRow(
                f"{quadrant.replace('_', ' ')}: action, speed-to-lead",
                f"{action.action}, within {duration(action.speed_to_lead_minutes)}",
                None
                if other is None
                else f"{other.action}, within {duration(other.speed_to_lead_minutes)}",
                "",
            )
        )
    return rows


def signoff_table(info: VersionInfo) -> list[tuple[str, Signoff | None, bool]]:
    """(team, its decision or None, bound to this version's binding) for each team."""
    return [
        (
            team,
            info.signoffs.get(team),
            team in info.signoffs and info.signoffs[team].bound_to(info.binding),
        )
        for team in TEAMS
    ]
