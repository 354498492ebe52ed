"""The MLflow layout training writes and serving reads, and the one rule for what may serve.

Both `training/` (register, sign off, promote, roll back, list) and `serving/` (load the
champion) need the alias, tag and team names and the sign-off rule, and neither may import
the other, so they live here. `signoff_problems` and `binding_problems` are the only code
that decides whether a version's record allows it to be promoted, restored or served: the
refusal text promotion prints, the reason `/readyz` gives and the note `handoff models`
shows are the same strings because they come from here.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

# Aliases (never MLflow stages).
CHAMPION = "champion"
PREVIOUS = "previous"
CHALLENGER = "challenger"  # scored in the shadow (never answered): `shadow_problems`

# The account model (`handoff train-accounts`) is registered under its own name, derived from
# the lead model's: the same aliases, tags, sign-offs and gates then apply to it unchanged, and
# `--accounts` on the governance commands names it.
ACCOUNT_MODEL_SUFFIX = "-accounts"


def account_model_name(lead_model_name: str) -> str:
    """The registered account model beside a registered lead model."""
    return f"{lead_model_name}{ACCOUNT_MODEL_SUFFIX}"


# The two teams whose approval a version needs, in the order they are shown.
TEAMS: tuple[str, ...] = ("marketing", "bdr")

# A team's decision, and the statuses `handoff.status` mirrors (champion and previous are
# the alias names: an alias outranks the review state).
APPROVED = "approved"
REJECTED = "rejected"
CANDIDATE = "candidate"
BLOCKED = "blocked"

# Model-version tags.
STATUS_TAG = "handoff.status"
REVIEW_TAG = "handoff.review"
RUN_ID_TAG = "handoff.run_id"
BINDING_TAG = "handoff.binding"
BLOCK_TAG = "handoff.blocked"
PROMOTED_TAG = "handoff.promoted_at"
ROLLED_BACK_TAG = "handoff.rolled_back_at"
CONTRACT_VERSION_TAG = "handoff.contract_version"
FEATURE_SETS_TAG = "handoff.feature_sets"
# Set at registration when the training window held too few wins to trust; its value says
# why. Every approval of such a version must acknowledge it (`SMALL_DATA`, below).
SMALL_DATA_TAG = "handoff.small_data"
# The verdict's word against chance and the best baseline (`training.verdict`), and, when
# the mapping kept a column the leakage guard suspected, one line per kept column (also a
# run tag): the report and `handoff models` show both.
VERDICT_TAG = "handoff.verdict"
LEAKAGE_KEPT_TAG = "handoff.leakage_kept"

# When `handoff monitor` last wrote the version's live comparison as the challenger (serving
# writes it, the report reads it: `live_comparison_file`).
LIVE_COMPARISON_TAG = "handoff.live_comparison_at"

# Run tags (on the training run, not the version).
CODE_VERSION_TAG = "handoff.code_version"
DATA_FINGERPRINT_TAG = "handoff.data_fingerprint"
QUARANTINED_TAG = "handoff.quarantined"  # {table: {"rows", "file"}} when rows were skipped
RUN_MODEL_VERSION_TAG = "handoff.model_version"  # the version registered from the run

# The run artifact the quadrant policy is logged as, and the name the binding digest gives the
# model folder (the folder MLflow 3 keeps a logged model's files in, so bindings made before
# downloads were named this way still match).
POLICY_FILE = "policy.json"
MODEL_FOLDER = "artifacts"
# The shipped default account policy (its actions; thresholds are proposed on validation
# unless an override file is given), in `models/`; an account run logs its policy as
# `POLICY_FILE` like a lead run, so the binding and sign-off rules read it unchanged.
ACCOUNT_POLICY_FILE = "account_policy.json"

# The other run artifacts the report, the gates and serving read.
MODEL_ARTIFACT = "model"
SUMMARY_FILE = "training_summary.json"
FEATURE_SETS_FILE = "feature_sets.json"
CONTRACT_FILE = "contract.json"
IMPORTANCE_FILE = "feature_importance.json"
REPORT_FILE = "report.html"
EVALUATION_DIR = "evaluation"
METRICS_FILE = f"{EVALUATION_DIR}/metrics.json"
EXAMPLES_FILE = f"{EVALUATION_DIR}/examples.json"
TEST_SCORES_FILE = f"{EVALUATION_DIR}/test_scores.parquet"
TEST_FEATURES_FILE = f"{EVALUATION_DIR}/test_features.parquet"
TRAIN_PROFILE_FILE = f"{EVALUATION_DIR}/train_profile.parquet"
# `models.drift.FeatureProfile` of the training rows: the bins serving counts served leads'
# features into and the monitor reads feature drift against.
FEATURE_PROFILE_FILE = f"{EVALUATION_DIR}/feature_profile.json"
VERDICT_FILE = f"{EVALUATION_DIR}/verdict.json"  # `training.verdict.Verdict.to_dict()`
LEAKAGE_FILE = f"{EVALUATION_DIR}/leakage.json"  # `training.leakage.LeakageReport.to_dict()`
# `training.feedback_eval.feedback_ranking`: AE decisions and meeting ratings per score band.
FEEDBACK_FILE = f"{EVALUATION_DIR}/feedback.json"
# An account run's accounts section (quadrants of accounts with Wilson intervals, win rate
# by roles covered): `training.account_report`.
ACCOUNTS_FILE = f"{EVALUATION_DIR}/accounts.json"


def live_comparison_file(version: str) -> str:
    """The run artifact holding one version's champion-vs-challenger comparison on live
    traffic (`serving.monitor.summary.challenger_comparison`, written by `handoff monitor`).
    Named by version: several versions may be registered from one run."""
    return f"live/challenger_v{version}.json"


# Run params naming the learner family serving each score and its runner-up on validation,
# and the run metric holding one family's cross-fitted validation AUC for one score.
def family_param(score: str) -> str:
    return f"family_{score}"


def runner_up_param(score: str) -> str:
    return f"runner_up_{score}"


def choice_metric(score: str, family: str) -> str:
    return f"choice_{score}_{family}_val_auc"


TRAIN_WINS_METRIC = "n_train_wins"  # wins in the training window

# Run metrics `handoff models` and `/v1/model` show; AUC and ECE are also promotion gates.
AUC_METRIC = "test_combined_roc_auc"
ECE_METRIC = "test_combined_ece"
LIFT10_METRIC = "test_combined_lift_top10"
AUC_TAG = f"handoff.{AUC_METRIC}"  # the version's test AUC, readable in the registry UI
HEADLINE_METRICS: tuple[str, ...] = (
    AUC_METRIC,
    "test_combined_pr_auc",
    "test_combined_brier",
    ECE_METRIC,
    LIFT10_METRIC,
    "test_combined_capture_top10",
    "test_fit_roc_auc",
    "test_interest_roc_auc",
    "test_baseline_points_roc_auc",
    "test_baseline_logreg_roc_auc",
    "n_train",
    "n_test",
    "win_rate_test",
)


def quadrant_metric(quadrant: str, measure: str) -> str:
    """A run metric of one quadrant on the test window (`share` or `win_rate`): the win rate
    is what a version promises at sign-off, and what `handoff monitor` holds it to."""
    return f"test_quadrant_{quadrant}_{measure}"


@dataclass(frozen=True)
class Signoff:
    """One team's current decision on a version, as its `signoff.<team>.*` tags record it."""

    team: str
    decision: str  # APPROVED | REJECTED (anything else is an edited tag, and blocks)
    by: str
    at: str
    comment: str
    binding: str
    acknowledged: str = ""  # comma-separated `ACKNOWLEDGEMENTS` words the signer accepted

    @property
    def acknowledgements(self) -> set[str]:
        return {a.strip() for a in self.acknowledged.split(",") if a.strip()}

    @property
    def approved(self) -> bool:
        return self.decision == APPROVED

    @property
    def rejected(self) -> bool:
        return self.decision == REJECTED

    def bound_to(self, binding: str) -> bool:
        """True when this decision is about exactly the files `binding` fingerprints."""
        return bool(binding) and self.binding == binding

    def to_tags(self) -> dict[str, str]:
        """The `signoff.<team>.*` tags that record this decision."""
        return {
            signoff_tag(self.team, f.name): getattr(self, f.name)
            for f in fields(self)
            if f.name != "team"
        }


SIGNOFF_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Signoff) if f.name != "team")


def signoff_tag(team: str, field: str) -> str:
    """The tag name of one field of one team's sign-off (`signoff.bdr.decision`)."""
    if field not in SIGNOFF_FIELDS:
        raise ValueError(f"a sign-off has no field {field!r}; fields: {', '.join(SIGNOFF_FIELDS)}")
    return f"signoff.{team}.{field}"


def signoffs_from_tags(tags: Mapping[str, str]) -> dict[str, Signoff]:
    """Each team's current decision, for the teams that have decided."""
    out: dict[str, Signoff] = {}
    for team in TEAMS:
        decision = tags.get(signoff_tag(team, "decision"))
        if decision:
            values = {f: tags.get(signoff_tag(team, f), "") for f in SIGNOFF_FIELDS}
            out[team] = Signoff(team=team, **values)
    return out


def decision_tags(signoff: Signoff, tags: Mapping[str, str]) -> dict[str, str]:
    """Every tag one decision writes: the team's tags and, for a first rejection, the block.

    The block outlives the team's own tags, so a version once rejected stays refused even if
    someone edits the decision tag back to approved.
    """
    out = signoff.to_tags()
    if signoff.rejected and not tags.get(BLOCK_TAG):
        out[BLOCK_TAG] = f"rejected by {signoff.team} ({signoff.by}) at {signoff.at}" + (
            f": {signoff.comment}" if signoff.comment else ""
        )
    return out


# What an approval must acknowledge, when the version carries the tag: word -> version tag.
SMALL_DATA = "small_data"
ACKNOWLEDGEMENTS: dict[str, str] = {SMALL_DATA: SMALL_DATA_TAG}


def needed_acknowledgements(tags: Mapping[str, str]) -> dict[str, str]:
    """{word: why} for each fact about this version an approval must acknowledge."""
    return {word: tags[tag] for word, tag in ACKNOWLEDGEMENTS.items() if tags.get(tag)}


def acknowledgement_problems(tags: Mapping[str, str], signoff: Signoff) -> list[str]:
    """What this approval fails to acknowledge about the version (nothing for a rejection)."""
    if not signoff.approved:
        return []
    return [
        f"{signoff.team}'s approval ({signoff.by}) does not acknowledge that {why}: "
        f"{signoff.team} must sign again acknowledging it (--acknowledge-{word.replace('_', '-')})"
        for word, why in needed_acknowledgements(tags).items()
        if word not in signoff.acknowledgements
    ]


def awaiting_teams(tags: Mapping[str, str]) -> list[str]:
    """Teams that have not decided yet: the normal course of a review, not a defect."""
    decided = signoffs_from_tags(tags)
    return [team for team in TEAMS if team not in decided]


def rejection_problems(tags: Mapping[str, str]) -> list[str]:
    """Every rejection on record. A rejection is final: nothing but a new version undoes it."""
    problems = [
        f"{s.team} rejected it ({s.by} at {s.at}" + (f": {s.comment})" if s.comment else ")")
        for s in signoffs_from_tags(tags).values()
        if s.rejected
    ]
    block = tags.get(BLOCK_TAG)
    if block and not problems:
        problems.append(f"blocked by an earlier rejection ({block}); train a new version")
    return problems


def signoff_blockers(tags: Mapping[str, str]) -> list[str]:
    """Sign-off problems no pending review will fix: rejections, a missing or edited binding."""
    binding = tags.get(BINDING_TAG, "")
    problems = []
    if not binding:
        problems.append(
            f"the version has no {BINDING_TAG} tag, so no sign-off can be bound to its model "
            "and policy"
        )
    for s in signoffs_from_tags(tags).values():
        if s.rejected:
            continue  # in rejection_problems
        if not s.approved:
            problems.append(
                f"{s.team}'s decision tag says {s.decision!r}, neither {APPROVED} nor {REJECTED}"
            )
        elif binding and not s.bound_to(binding):
            problems.append(
                f"{s.team}'s approval ({s.by}) is bound to {s.binding[:12] or 'nothing'}, not "
                f"to this version's model and policy (binding {binding[:12]}): {s.team} must "
                "sign again"
            )
        else:
            problems.extend(acknowledgement_problems(tags, s))
    return problems + rejection_problems(tags)


def signoff_problems(tags: Mapping[str, str]) -> list[str]:
    """Every reason the sign-offs do not allow this version to be promoted or to serve.

    Empty means both teams approved exactly this version's binding, acknowledging what the
    version asks them to (`needed_acknowledgements`: trained on too little data), and nobody
    ever rejected it. The binding's match with the files themselves is `binding_problems`.
    """
    waiting = [f"{team} has not signed off" for team in awaiting_teams(tags)]
    return waiting + signoff_blockers(tags)


def shadow_problems(version: ModelVersion) -> list[str]:
    """Why a version may not be scored in the shadow as the `challenger` (empty: it may).

    The promotion rule without waiting for sign-off: a shadow score is never answered, and
    its live comparison is evidence the teams sign off with. A rejection, a missing or
    edited binding, or files that changed still refuse it.
    """
    return signoff_blockers(version.tags or {}) + binding_problems(version)


def artifact_digest(model_uri: str, run_id: str) -> str:
    """sha256 over the bytes of the model files and the run's policy, in a stable order.

    Sign-offs store this digest, so a decision can be shown to be about exactly this model
    and these thresholds. Files are named by their path inside the model folder (under
    `MODEL_FOLDER`), never by where the download landed, so every store gives one digest.
    """
    from mlflow.artifacts import download_artifacts

    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory(prefix="handoff-binding-") as tmp:
        model = Path(download_artifacts(artifact_uri=model_uri, dst_path=f"{tmp}/model"))
        policy = Path(
            download_artifacts(run_id=run_id, artifact_path=POLICY_FILE, dst_path=f"{tmp}/policy")
        )
        for file in sorted(p for p in model.rglob("*") if p.is_file()):
            digest.update(f"{MODEL_FOLDER}/{file.relative_to(model).as_posix()}".encode())
            digest.update(file.read_bytes())
        digest.update(POLICY_FILE.encode())
        digest.update(policy.read_bytes())
    return digest.hexdigest()


def run_id_of(version: ModelVersion) -> str:
    """The training run behind a version (the registry field, else the handoff tag)."""
    run_id = version.run_id or (version.tags or {}).get(RUN_ID_TAG)
    if not run_id:
        raise LookupError(f"version {version.version} names no training run")
    return str(run_id)


def binding_problems(version: ModelVersion) -> list[str]:
    """Re-hash the model files and policy: they must still be what the teams signed.

    A version without a binding tag gives no problem here; `signoff_problems` names it.
    """
    expected = (version.tags or {}).get(BINDING_TAG, "")
    if not expected:
        return []
    try:
        actual = artifact_digest(str(version.source), run_id_of(version))
    except Exception as error:  # the type only: a store error may quote a URI with credentials
        return [
            "the model or policy files could not be read to check the binding "
            f"({type(error).__name__})"
        ]
    if actual != expected:
        return [
            f"the model or policy files changed after registration (binding {expected[:12]}, "
            f"files now hash to {actual[:12]})"
        ]
    return []


def version_problems(version: ModelVersion) -> list[str]:
    """Every reason this version may not be promoted, restored or served (empty: it may)."""
    return signoff_problems(version.tags or {}) + binding_problems(version)
