"""`handoff signoff`: marketing's and BDR's decision on one exact version.

A decision is written as `signoff.<team>.*` tags on the model version, bound to the
version's `handoff.binding` (sha256 over the model files and `policy.json`), so it is
about this model with these thresholds and nothing else. Signing again replaces the
team's tags; the audit log keeps every decision. A rejection is final: it sets the sticky
`handoff.blocked` tag, and a later approval of the version, by either team, is refused
(and the refusal logged) — the fix for a rejected model is a new training run, reviewed
afresh. Rejecting again is allowed: it only adds to the record.

A version trained on too little data to trust (`handoff.small_data`) is approved only by a
signer who acknowledges it (`acknowledge`, the CLI's `--acknowledge-small-data`); the
acknowledgement is part of the decision's tags, and `models.mlflow_layout.signoff_problems`
refuses an approval without it, so promotion and serving agree.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from models.mlflow_layout import (
    ACKNOWLEDGEMENTS,
    APPROVED,
    BINDING_TAG,
    CHAMPION,
    REJECTED,
    TEAMS,
    Signoff,
    acknowledgement_problems,
    binding_problems,
    decision_tags,
    rejection_problems,
    signoff_problems,
    signoffs_from_tags,
)
from models.settings import Settings
from training.audit import append_event, append_refusal, governance_lock, utc_now
from training.versions import (
    alias_version,
    get_version,
    registry_client,
    sync_status_tags,
)

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion


class SignoffError(ValueError):
    """The sign-off was not recorded (unknown team, no signer, unbound or rejected version)."""


def _check_team(team: str) -> str:
    normalised = team.strip().lower()
    if normalised not in TEAMS:
        raise SignoffError(
            f"unknown team {team!r}: sign-offs come from {' or '.join(TEAMS)} "
            "(marketing owns who is a good lead, BDR owns what they can work)"
        )
    return normalised


def _binding_refusals(mv: ModelVersion, binding: str, expected: str | None) -> list[str]:
    problems = []
    if expected is not None and expected != binding:
        problems.append(
            f"the decision was made on binding {expected[:12] or 'none'}, but the version's "
            f"binding is {binding[:12]}: review the version as it is now"
        )
    return problems + binding_problems(mv)


def record_signoff(
    version: str,
    *,
    team: str,
    by: str,
    approve: bool,
    comment: str = "",
    acknowledge: Collection[str] = (),
    settings: Settings,
    expected_binding: str | None = None,
) -> str:
    """Record one team's approval or rejection of `version`; return what happened, in words.

    `acknowledge` names what the signer accepts about the version (`ACKNOWLEDGEMENTS`).
    The files are re-hashed first (`binding_problems`): a decision is about exactly what was
    registered, so a version whose files changed cannot be signed. `expected_binding` is the
    binding the signer reviewed (the review page sends it); any other binding is refused.
    """
    team = _check_team(team)
    unknown = sorted(set(acknowledge) - set(ACKNOWLEDGEMENTS))
    if unknown:
        raise SignoffError(
            f"nothing called {', '.join(unknown)} can be acknowledged; "
            f"known: {', '.join(ACKNOWLEDGEMENTS)}"
        )
    by = by.strip()
    if not by:
        raise SignoffError("a sign-off needs the name of the person signing (--by)")
    decision = APPROVED if approve else REJECTED
    client = registry_client(settings)
    with governance_lock(settings):
        mv = get_version(client, settings, version)
        version = str(mv.version)
        tags = dict(mv.tags)
        binding = tags.get(BINDING_TAG, "")
        if not binding:
            raise SignoffError(
                f"version {version} has no {BINDING_TAG} tag, so a sign-off could not say which "
                "model and policy it approves; register versions with `handoff train`"
            )
        unbound = _binding_refusals(mv, binding, expected_binding)
        if unbound:
            append_refusal(
                settings,
                version=version,
                by=by,
                binding=binding,
                refused=f"{'approval' if approve else 'rejection'} by {team}",
                reasons=unbound,
            )
            raise SignoffError(f"version {version} cannot be signed: {'; '.join(unbound)}")
        rejections = rejection_problems(tags)
        if approve and rejections:
            append_refusal(
                settings,
                version=version,
                by=by,
                binding=binding,
                refused=f"approval by {team}",
                reasons=rejections,
            )
            raise SignoffError(
                f"version {version} cannot be approved, because a rejection is final: "
                f"{'; '.join(rejections)}. Fix the concerns and train a new version"
            )
        earlier = signoffs_from_tags(tags).get(team)
        signoff = Signoff(
            team=team,
            decision=decision,
            by=by,
            at=utc_now(),
            comment=comment,
            binding=binding,
            acknowledged=",".join(sorted(set(acknowledge))),
        )
        unacknowledged = acknowledgement_problems(tags, signoff)
        if unacknowledged:
            append_refusal(
                settings,
                version=version,
                by=by,
                binding=binding,
                refused=f"approval by {team}",
                reasons=unacknowledged,
            )
            raise SignoffError(f"version {version} not approved: {'; '.join(unacknowledged)}")
        new_tags = decision_tags(signoff, tags)
        for key, value in new_tags.items():
            client.set_model_version_tag(settings.model_name, version, key, value)
        append_event(
            settings,
            action="signoff" if approve else "rejection",
            version=version,
            by=by,
            binding=binding,
            team=team,
            decision=decision,
            comment=comment,
            acknowledged=signoff.acknowledged,
            replaces=None
            if earlier is None
            else {"decision": earlier.decision, "by": earlier.by, "at": earlier.at},
        )
        sync_status_tags(client, settings)
        is_champion = alias_version(client, settings, CHAMPION) == version
        after = {**tags, **new_tags}
        current = signoffs_from_tags(after)
        rejections = rejection_problems(after)
        remaining = signoff_problems(after)

    lines = [
        f"{team} {decision.upper() if not approve else decision} version {version} "
        f"(model+policy binding {binding[:12]}) as {by}" + (f": {comment}" if comment else "")
    ]
    if earlier is not None:
        lines.append(
            f"this replaces {team}'s earlier decision ({earlier.decision} by {earlier.by} at "
            f"{earlier.at}); both stay in the audit log"
        )
    if rejections:
        lines.append(
            f"version {version} is blocked ({'; '.join(rejections)}) and can never be promoted "
            "or approved; fix the concerns and train a new version"
        )
        if is_champion:
            lines.append(
                f"version {version} is still the champion: a running server keeps serving it "
                "(a server that starts now refuses it); run `handoff rollback` or promote "
                "another approved version"
            )
    else:
        waiting = [t for t in TEAMS if t not in current or not current[t].approved]
        if waiting:
            lines.append(f"still waiting for: {', '.join(waiting)}")
        elif remaining:
            lines.append("not yet promotable: " + "; ".join(remaining))
        else:
            lines.append(
                f"both teams approved version {version}; `handoff promote {version}` will now "
                "run the automatic gates"
            )
    return "\n".join(lines)
