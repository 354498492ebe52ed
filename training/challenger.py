"""`handoff challenger`: give a version the `challenger` alias, only when its gates pass.

Serving scores every request with the challenger in the shadow (`serving.shadow`), so the
teams can sign off with evidence from their own traffic. A version earns the alias by
`models.mlflow_layout.shadow_problems` (no rejection, a binding that still matches its
files) *and* the same automatic gates as promotion, against the champion of the moment:
`training.promote.check_gates`, reused rather than restated, so a challenger never holds a
bar promotion would not. The two sign-offs are not asked for: they are what the shadow's
evidence is for. Every step, refusals included, is written to the audit log under the
governance lock, as promotion is.
"""

from __future__ import annotations

from models.mlflow_layout import BINDING_TAG, CHALLENGER, CHAMPION, shadow_problems
from models.settings import Settings
from training.audit import append_event, governance_lock
from training.promote import (
    DEFAULT_AUC_TOLERANCE,
    DEFAULT_BASELINE_MARGIN,
    DEFAULT_MAX_ECE,
    GateBounds,
    acting_user,
    check_gates,
    refusal,
)
from training.versions import UnknownVersion, alias_version, get_version, registry_client


def set_challenger(
    version: str,
    *,
    settings: Settings,
    auc_tolerance: float = DEFAULT_AUC_TOLERANCE,
    max_ece: float = DEFAULT_MAX_ECE,
    baseline_margin: float = DEFAULT_BASELINE_MARGIN,
    by: str | None = None,
) -> str:
    """Make `version` the challenger (replacing any other), or raise PromotionRefused."""
    who = acting_user(by)
    client = registry_client(settings)
    what = f"challenger alias for version {version}"
    with governance_lock(settings):
        try:
            mv = get_version(client, settings, version)
        except UnknownVersion as error:
            raise refusal(settings, str(version), who, None, what, [str(error)]) from None
        version = str(mv.version)
        what = f"challenger alias for version {version}"
        binding = (mv.tags or {}).get(BINDING_TAG) or None
        old = alias_version(client, settings, CHALLENGER)
        if old == version:
            return f"version {version} is already the challenger; nothing changed"
        champion = alias_version(client, settings, CHAMPION)
        if champion == version:
            reasons = [f"version {version} is the champion: it already answers every request"]
            raise refusal(settings, version, who, binding, what, reasons)
        bounds = GateBounds(
            auc_tolerance=auc_tolerance, max_ece=max_ece, baseline_margin=baseline_margin
        )
        check = check_gates(client, settings, mv, champion, bounds)
        reasons = shadow_problems(mv) + check.failures
        if reasons:
            raise refusal(settings, version, who, binding, what, reasons, gates=check.record)
        client.set_registered_model_alias(settings.model_name, CHALLENGER, version)
        append_event(
            settings,
            action="challenger",
            version=version,
            by=who,
            binding=binding,
            replaced=old,
            champion=champion,
            gates=check.record,
        )
    lines = [
        f"version {version} is now the challenger: serving scores every request with it in "
        "the shadow, never answering with it"
    ]
    if old is not None:
        lines.append(f"it replaces version {old}, which is no longer scored")
    if check.verdict is not None:
        lines += check.verdict.lines()
    return "\n".join(lines)


def clear_challenger(*, settings: Settings, by: str | None = None) -> str:
    """Remove the `challenger` alias (serving stops scoring it at its next reload)."""
    who = acting_user(by)
    client = registry_client(settings)
    with governance_lock(settings):
        old = alias_version(client, settings, CHALLENGER)
        if old is None:
            return "there is no challenger; nothing changed"
        client.delete_registered_model_alias(settings.model_name, CHALLENGER)
        binding = get_version(client, settings, old).tags.get(BINDING_TAG) or None
        append_event(settings, action="challenger_cleared", version=old, by=who, binding=binding)
    return f"version {old} is no longer the challenger; serving stops scoring it in the shadow"
