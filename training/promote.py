"""`handoff promote` and `handoff rollback`: move the `champion` alias, and only when allowed.

Promotion needs both teams' approval bound to the version's exact model and policy, no
rejection ever, model files that still hash to that binding, and the automatic gates, each
judged with the uncertainty of the test window (`training.verdict`, rule in
`gate_failures`): better than chance, not worse than the best baseline (the best *other*
one when the served learner family is itself a baseline's,
`training.evaluate.gate_baselines`), not worse than the champion on the same recent window
by more than `auc_tolerance`, and calibrated (ECE at most `max_ece` or within its own
sampling noise). There is no flag to skip any of it.

Everything runs under one exclusive file lock under `settings.home`, and the aliases are
re-read inside it, so racing promotions serialise and leave exactly one champion, with the
one they displaced as `previous`.

Promotion tags the version `handoff.promoted_at`, so every earlier champion stays known;
promoting the challenger (`training.challenger`), or rolling back to it, clears that alias.
Rollback makes `previous` (or, with `to`, any earlier champion) the champion in one step and
*clears* `previous`: the version rolled back from is the one that just misbehaved, so it
must not sit one command away from serving again. It keeps its sign-offs (tagged
`handoff.rolled_back_at`) and can come back only through a fresh `handoff promote`, which
runs the gates again; `to` refuses it. A restored version must still pass the same sign-off
and binding rule as a promotion (`models.mlflow_layout.version_problems`).
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from models.mlflow_layout import (
    AUC_METRIC,
    BINDING_TAG,
    CHALLENGER,
    CHAMPION,
    ECE_METRIC,
    PREVIOUS,
    PROMOTED_TAG,
    ROLLED_BACK_TAG,
    family_param,
    run_id_of,
    signoffs_from_tags,
    version_problems,
)
from models.settings import Settings
from training.audit import append_event, append_refusal, governance_lock, utc_now
from training.champion_compare import (
    ChampionComparison,
    champion_difference,
    compare_with_champion,
    run_verdict,
)
from training.verdict import Verdict
from training.versions import (
    UnknownVersion,
    alias_version,
    get_version,
    registry_client,
    sync_status_tags,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

DEFAULT_AUC_TOLERANCE = 0.01
DEFAULT_MAX_ECE = 0.03
# Refused when the interval of the AUC lead over the best baseline lies below this.
DEFAULT_BASELINE_MARGIN = 0.0


class PromotionRefused(Exception):
    """Promotion or rollback was refused; `reasons` lists every unmet condition."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []


def acting_user(by: str | None) -> str:
    """Who a governance step is recorded as: `by`, else the login name."""
    if by:
        return by
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def gate_failures(
    metrics: Mapping[str, float],
    verdict: Verdict | None,
    champion: ChampionComparison | None,
    *,
    auc_tolerance: float,
    max_ece: float,
    baseline_margin: float = 0.0,
) -> list[str]:
    """Every automatic gate the run fails (empty when all hold), judged with intervals:

    - no better than chance (the test AUC interval reaches 0.5) is refused;
    - worse than the best baseline only when the whole AUC-difference interval lies below
      `baseline_margin` (0: below zero; a tie is shown to the reviewers, not refused); the
      verdict's baseline is the best *other* one when the served family is a baseline's;
    - worse than the champion only when the whole interval lies below `-auc_tolerance`;
    - miscalibrated only when the ECE is above `max_ece` *and* above the ECE a perfectly
      calibrated model would show on this window by chance (its 95th percentile).
    """
    reasons: list[str] = []
    auc = metrics.get(AUC_METRIC)
    if auc is None or not np.isfinite(auc):
        reasons.append(f"no {AUC_METRIC} logged: cannot check the model against anything")
    if verdict is None:
        reasons.append("no verdict: the run's test window cannot be read to judge it")
    else:
        reasons += _verdict_failures(verdict, auc_tolerance, baseline_margin)
    if champion is not None and (verdict is None or verdict.champion is None):
        reasons += _unjudged_champion(auc, champion, auc_tolerance)
    ece = metrics.get(ECE_METRIC)
    noise = verdict.ece_noise if verdict is not None else float("nan")
    if ece is None or not np.isfinite(ece):
        reasons.append(f"no {ECE_METRIC} logged: cannot check calibration")
    elif ece > max_ece and not (np.isfinite(noise) and ece <= noise):
        reasons.append(
            f"calibration error (ECE) {ece:.4f} is above the bound {max_ece:.4f} and above "
            f"what a perfectly calibrated model would show on this window by chance "
            f"({noise:.4f})"
        )
    return reasons


def _verdict_failures(verdict: Verdict, auc_tolerance: float, baseline_margin: float) -> list[str]:
    reasons: list[str] = []
    if verdict.no_signal:
        reasons.append(verdict.headline())
    base = verdict.baseline
    if base is not None and base.difference.high < baseline_margin:
        reasons.append(
            f"{base.sentence()}: the whole interval is below the margin {baseline_margin:+.4f}"
            if baseline_margin
            else base.sentence()
        )
    champ = verdict.champion
    if champ is not None and champ.difference.high < -auc_tolerance:
        reasons.append(
            f"{champ.sentence()}: the whole interval is more than the tolerance "
            f"{auc_tolerance:.4f} below zero"
        )
    return reasons


def _unjudged_champion(
    auc: float | None, champion: ChampionComparison, auc_tolerance: float
) -> list[str]:
    """A champion with no interval to judge by: its point AUC, and the note saying why."""
    champ_auc = champion.roc_auc
    if champ_auc is None:
        return [
            f"cannot compare with champion version {champion.champion_version}: "
            f"no AUC available ({champion.note})"
        ]
    if auc is not None and np.isfinite(auc) and auc < champ_auc - auc_tolerance:
        return [
            f"test AUC {auc:.4f} is {champ_auc - auc:.4f} below champion version "
            f"{champion.champion_version} ({champ_auc:.4f}; {champion.note}; no interval "
            f"available), more than the tolerance {auc_tolerance:.4f}"
        ]
    return []


class GateBounds(TypedDict):
    """The bounds of the automatic gates, as `promote_version` takes them."""

    auc_tolerance: float
    max_ece: float
    baseline_margin: float


def configured_gates(settings: Settings) -> GateBounds:
    """The gate bounds `promote_version` takes, as the settings configure them: what
    `handoff promote`, the review page and the report all use."""
    return GateBounds(
        auc_tolerance=settings.promotion_auc_tolerance,
        max_ece=settings.promotion_max_ece,
        baseline_margin=settings.promotion_baseline_margin,
    )


@dataclass(frozen=True)
class GateCheck:
    """The automatic gates on one version against the champion of the moment."""

    failures: list[str]  # every gate it fails, in `gate_failures`' words (empty: all hold)
    metrics: dict[str, float]  # the version's run metrics
    comparison: ChampionComparison | None  # None when there is no champion
    verdict: Verdict | None  # the run's verdict, with the champion's comparison when any
    record: dict[str, Any]  # what the audit log keeps of the gates


def check_gates(
    client: MlflowClient,
    settings: Settings,
    mv: ModelVersion,
    champion: str | None,
    bounds: GateBounds,
) -> GateCheck:
    """The gates `promote_version` applies, without moving anything: promotion and the
    review page both ask this, so the page says what promotion would."""
    run = client.get_run(run_id_of(mv))
    metrics = dict(run.data.metrics)
    comparison = None
    verdict: Verdict | None = None
    try:
        verdict = run_verdict(run_id_of(mv))
    except Exception:  # gate_failures names the missing verdict
        verdict = None
    if champion is not None:
        champ_mv = get_version(client, settings, champion)
        comparison = compare_with_champion(client, settings, mv, champ_mv)
        if verdict is not None:
            verdict = verdict.with_champion(
                champion_difference(run_id_of(mv), run_id_of(champ_mv), comparison)
            )
    elif verdict is not None:  # judged against the champion of the moment: none now
        verdict = verdict.with_champion(None)
    failures = gate_failures(metrics, verdict, comparison, **bounds)
    record = {
        "family": run.data.params.get(family_param("combined")),
        "baseline_compared": None
        if verdict is None or verdict.baseline is None
        else verdict.baseline.against,
        "auc": metrics.get(AUC_METRIC),
        "ece": metrics.get(ECE_METRIC),
        **bounds,
        "champion": champion,
        "champion_auc": None if comparison is None else comparison.roc_auc,
        "champion_comparison": None if comparison is None else comparison.note,
        "verdict": None if verdict is None else verdict.to_dict(),
    }
    return GateCheck(failures, metrics, comparison, verdict, record)


def refusal(
    settings: Settings,
    version: str | None,
    by: str,
    binding: str | None,
    what: str,
    reasons: list[str],
    **details: Any,
) -> PromotionRefused:
    """Audit-log a refused step with every reason, and the exception to raise for it."""
    append_refusal(
        settings, version=version, by=by, binding=binding, refused=what, reasons=reasons, **details
    )
    message = f"{what} refused:\n" + "\n".join(f"  - {r}" for r in reasons)
    return PromotionRefused(message, reasons)


def _clear_challenger_if(client: MlflowClient, settings: Settings, version: str) -> bool:
    """Remove the challenger alias when it names `version`, which now answers: scoring it
    again in the shadow would compare the champion with itself. True when it did."""
    if alias_version(client, settings, CHALLENGER) != version:
        return False
    client.delete_registered_model_alias(settings.model_name, CHALLENGER)
    return True


def promote_version(
    version: str,
    *,
    settings: Settings,
    auc_tolerance: float = DEFAULT_AUC_TOLERANCE,
    max_ece: float = DEFAULT_MAX_ECE,
    baseline_margin: float = DEFAULT_BASELINE_MARGIN,
    by: str | None = None,
) -> str:
    """Make `version` the champion (old champion → `previous`), or raise PromotionRefused.

    The gate bounds are arguments (defaults above) and every value used is written to the
    audit record, so a promotion under non-default bounds is visible afterwards.
    """
    who = acting_user(by)
    client = registry_client(settings)
    with governance_lock(settings):
        try:
            mv = get_version(client, settings, version)
        except UnknownVersion as error:
            raise refusal(
                settings, str(version), who, None, f"promotion of version {version}", [str(error)]
            ) from None
        version = str(mv.version)
        tags = dict(mv.tags)
        binding = tags.get(BINDING_TAG) or None
        old_champion = alias_version(client, settings, CHAMPION)
        if old_champion == version:
            return f"version {version} is already the champion; nothing changed"

        bounds = GateBounds(
            auc_tolerance=auc_tolerance, max_ece=max_ece, baseline_margin=baseline_margin
        )
        check = check_gates(client, settings, mv, old_champion, bounds)
        reasons = version_problems(mv) + check.failures
        metrics, comparison, gates = check.metrics, check.comparison, check.record
        verdict = check.verdict
        if reasons:
            raise refusal(
                settings,
                version,
                who,
                binding,
                f"promotion of version {version}",
                reasons,
                gates=gates,
            )

        client.set_registered_model_alias(settings.model_name, CHAMPION, version)
        client.set_model_version_tag(settings.model_name, version, PROMOTED_TAG, utc_now())
        if old_champion is not None:
            client.set_registered_model_alias(settings.model_name, PREVIOUS, old_champion)
        was_challenger = _clear_challenger_if(client, settings, version)
        if tags.get(ROLLED_BACK_TAG):
            client.delete_model_version_tag(settings.model_name, version, ROLLED_BACK_TAG)
        sync_status_tags(client, settings)
        append_event(
            settings,
            action="promotion",
            version=version,
            by=who,
            binding=binding,
            previous=old_champion,
            was_challenger=was_challenger,
            signoffs={t: s.by for t, s in signoffs_from_tags(tags).items()},
            gates=gates,
        )

    auc = metrics[AUC_METRIC]
    lines = [
        f"version {version} is now the champion (test AUC {auc:.4f}, "
        f"ECE {metrics[ECE_METRIC]:.4f}; approved by "
        + ", ".join(f"{t} {s.by}" for t, s in signoffs_from_tags(tags).items())
        + ")"
    ]
    if verdict is not None:
        lines += verdict.lines()
    if comparison is not None and old_champion is not None:
        lines.append(
            f"previous champion: version {old_champion} (AUC {comparison.roc_auc:.4f} on "
            f"{comparison.note}); `handoff rollback` restores it"
        )
    else:
        lines.append("there was no champion before; nothing to roll back to yet")
    return "\n".join(lines)


def restore_problems(version: ModelVersion, champion: str | None) -> list[str]:
    """Why `rollback --to` may not restore this version, beyond the sign-off and binding rule."""
    tags = version.tags or {}
    number = str(version.version)
    problems = []
    if number == champion:
        problems.append(f"version {number} is already the champion")
    elif not tags.get(PROMOTED_TAG):
        problems.append(
            f"version {number} was never the champion ({PROMOTED_TAG} is unset): rollback "
            "restores only an earlier champion; a new version goes through `handoff promote`"
        )
    rolled_back = tags.get(ROLLED_BACK_TAG)
    if rolled_back:
        problems.append(
            f"version {number} was rolled back from at {rolled_back}: it may return only "
            f"through `handoff promote {number}`, which runs the gates again"
        )
    return problems


def rollback_champion(
    *, settings: Settings, by: str | None = None, to: str | int | None = None
) -> str:
    """Make `previous` (or the earlier champion `to`) the champion again.

    The version rolled back from leaves both aliases. Every reason for a refusal is given
    and written to the audit log.
    """
    who = acting_user(by)
    client = registry_client(settings)
    with governance_lock(settings):
        champion = alias_version(client, settings, CHAMPION)
        if to is None:
            previous = alias_version(client, settings, PREVIOUS)
            if previous is None:
                raise refusal(
                    settings,
                    champion,
                    who,
                    None,
                    "rollback",
                    [
                        "there is no previous champion to roll back to "
                        "(`handoff rollback --to VERSION` restores an earlier one)"
                    ],
                )
            target = get_version(client, settings, previous)
            reasons = version_problems(target)
        else:
            try:
                target = get_version(client, settings, to)
            except UnknownVersion as error:
                raise refusal(
                    settings, str(to), who, None, f"rollback to version {to}", [str(error)]
                ) from None
            reasons = restore_problems(target, champion) + version_problems(target)
        version = str(target.version)
        binding = (target.tags or {}).get(BINDING_TAG)
        if reasons:
            raise refusal(
                settings,
                version,
                who,
                binding,
                f"rollback to version {version}",
                reasons,
                champion=champion,
            )
        client.set_registered_model_alias(settings.model_name, CHAMPION, version)
        was_challenger = _clear_challenger_if(client, settings, version)
        if alias_version(client, settings, PREVIOUS) is not None:
            client.delete_registered_model_alias(settings.model_name, PREVIOUS)
        if champion is not None:
            client.set_model_version_tag(settings.model_name, champion, ROLLED_BACK_TAG, utc_now())
        sync_status_tags(client, settings)
        append_event(
            settings,
            action="rollback",
            version=version,
            by=who,
            binding=binding,
            rolled_back_from=champion,
            restored=PREVIOUS if to is None else "earlier champion",
            was_challenger=was_challenger,
        )
    if champion is None:
        return f"version {version} is the champion again (there was no champion)"
    return (
        f"version {version} is the champion again (rolled back from version {champion}); "
        f"version {champion} keeps its sign-offs but can only return through `handoff promote`"
    )
