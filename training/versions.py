"""`handoff models`: every version with its status, sign-offs and headline numbers.

This is the read side of governance. Status is *derived* from the aliases and the sign-off
tags (champion > previous > rejected > approved > candidate) and mirrored into the
`handoff.status` tag by `sync_status_tags`, so MLflow's UI shows the same word as this table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from models.mlflow_setup import configure_mlflow
from models.settings import Settings

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

TEAMS: tuple[str, ...] = ("marketing", "bdr")
CHAMPION, PREVIOUS = "champion", "previous"
STATUS_TAG = "handoff.status"
BINDING_TAG = "handoff.binding"
BLOCK_TAG = "handoff.blocked"
ROLLED_BACK_TAG = "handoff.rolled_back_at"
HEADLINE_METRICS: dict[str, str] = {
    "auc": "test_combined_roc_auc",
    "lift10": "test_combined_lift_top10",
    "ece": "test_combined_ece",
}


class UnknownVersion(LookupError):
    """The registered model has no such version."""


@dataclass(frozen=True)
class Signoff:
    """One team's current decision on a version, as its tags record it."""

    team: str
    decision: str  # "approved" | "rejected"
    by: str
    at: str
    comment: str
    binding: str

    @property
    def approved(self) -> bool:
        return self.decision == "approved"


@dataclass(frozen=True)
class VersionInfo:
    """What the table and the report show about one model version."""

    version: str
    run_id: str
    status: str
    aliases: tuple[str, ...]
    signoffs: dict[str, Signoff]
    binding: str
    blocked: str | None
    created: datetime
    metrics: dict[str, float] = field(default_factory=dict)
    rolled_back_at: str | None = None

    def metric(self, key: str) -> float | None:
        """A headline metric by short name (auc, lift10, ece), None when not logged."""
        value = self.metrics.get(HEADLINE_METRICS.get(key, key))
        return None if value is None or math.isnan(value) else float(value)


def registry_client(settings: Settings) -> MlflowClient:
    """A client on Handoff's store (configured through the one MLflow bootstrap)."""
    configure_mlflow(settings)
    from mlflow import MlflowClient

    return MlflowClient()


def get_version(client: MlflowClient, settings: Settings, version: str | int) -> ModelVersion:
    """The model version, or an error naming the versions that do exist."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(settings.model_name, str(version))
    except MlflowException:
        known = [mv.version for mv in _all_versions(client, settings)]
        raise UnknownVersion(
            f"{settings.model_name} has no version {version!r}; "
            f"known versions: {', '.join(map(str, sorted(known, key=int))) or 'none'}"
        ) from None


def _all_versions(client: MlflowClient, settings: Settings) -> list[ModelVersion]:
    return list(client.search_model_versions(f"name='{settings.model_name}'"))


def aliases_by_version(client: MlflowClient, settings: Settings) -> dict[str, list[str]]:
    """{version: [aliases]} read from the registered model (search results omit aliases)."""
    from mlflow.exceptions import MlflowException

    try:
        registered = client.get_registered_model(settings.model_name)
    except MlflowException:
        return {}
    out: dict[str, list[str]] = {}
    for alias, version in (registered.aliases or {}).items():
        out.setdefault(str(version), []).append(alias)
    return out


def alias_version(client: MlflowClient, settings: Settings, alias: str) -> str | None:
    """Which version an alias names right now (None when unset)."""
    for version, aliases in aliases_by_version(client, settings).items():
        if alias in aliases:
            return version
    return None


def signoffs_from_tags(tags: dict[str, str]) -> dict[str, Signoff]:
    """Each team's current decision, for the teams that have decided."""
    out: dict[str, Signoff] = {}
    for team in TEAMS:
        decision = tags.get(f"signoff.{team}.decision")
        if decision:
            out[team] = Signoff(
                team=team,
                decision=decision,
                by=tags.get(f"signoff.{team}.by", ""),
                at=tags.get(f"signoff.{team}.at", ""),
                comment=tags.get(f"signoff.{team}.comment", ""),
                binding=tags.get(f"signoff.{team}.binding", ""),
            )
    return out


def review_status(tags: dict[str, str]) -> str:
    """rejected, approved (both teams, bound to this binding) or candidate, ignoring aliases."""
    signoffs = signoffs_from_tags(tags)
    if tags.get(BLOCK_TAG) or any(not s.approved for s in signoffs.values()):
        return "rejected"
    binding = tags.get(BINDING_TAG, "")
    if binding and all(
        team in signoffs and signoffs[team].approved and signoffs[team].binding == binding
        for team in TEAMS
    ):
        return "approved"
    return "candidate"


def derive_status(tags: dict[str, str], aliases: list[str] | tuple[str, ...]) -> str:
    """champion / previous from the aliases, else the review status."""
    if CHAMPION in aliases:
        return CHAMPION
    if PREVIOUS in aliases:
        return PREVIOUS
    return review_status(tags)


def sync_status_tags(client: MlflowClient, settings: Settings) -> dict[str, str]:
    """Rewrite `handoff.status` where it no longer matches the derived status; return changes.

    Callers hold the governance lock, so the aliases read here are the ones just written.
    """
    aliases = aliases_by_version(client, settings)
    changed: dict[str, str] = {}
    for mv in _all_versions(client, settings):
        status = derive_status(dict(mv.tags), aliases.get(str(mv.version), []))
        if mv.tags.get(STATUS_TAG) != status:
            client.set_model_version_tag(settings.model_name, mv.version, STATUS_TAG, status)
            changed[str(mv.version)] = status
    return changed


def _info(client: MlflowClient, mv: ModelVersion, aliases: list[str]) -> VersionInfo:
    tags = dict(mv.tags)
    try:
        metrics = dict(client.get_run(mv.run_id).data.metrics) if mv.run_id else {}
    except Exception:  # a deleted run must not break the listing
        metrics = {}
    return VersionInfo(
        version=str(mv.version),
        run_id=mv.run_id or tags.get("handoff.run_id", ""),
        status=derive_status(tags, aliases),
        aliases=tuple(sorted(aliases)),
        signoffs=signoffs_from_tags(tags),
        binding=tags.get(BINDING_TAG, ""),
        blocked=tags.get(BLOCK_TAG) or None,
        created=datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC),
        metrics=metrics,
        rolled_back_at=tags.get(ROLLED_BACK_TAG) or None,
    )


def version_info(settings: Settings, version: str | int) -> VersionInfo:
    """One version's status, sign-offs and metrics."""
    client = registry_client(settings)
    mv = get_version(client, settings, version)
    return _info(client, mv, aliases_by_version(client, settings).get(str(mv.version), []))


def _store_exists(settings: Settings) -> bool:
    """False for a default (SQLite under home) store that was never created: nothing to list."""
    if settings.tracking_uri:
        return True
    return (Path(settings.home) / "mlflow.db").exists()


def list_versions(settings: Settings) -> list[VersionInfo]:
    """Every version of the registered model, newest first (reading creates no store)."""
    if not _store_exists(settings):
        return []
    client = registry_client(settings)
    aliases = aliases_by_version(client, settings)
    versions = sorted(_all_versions(client, settings), key=lambda mv: int(mv.version), reverse=True)
    return [_info(client, mv, aliases.get(str(mv.version), [])) for mv in versions]


def signoff_cell(info: VersionInfo) -> str:
    """`marketing ✓ jane, bdr ✗ joe` style summary; `-` for a team that has not decided."""
    parts = []
    for team in TEAMS:
        s = info.signoffs.get(team)
        if s is None:
            parts.append(f"{team} -")
        else:
            mark = "ok" if s.approved else "REJECTED"
            stale = "" if s.binding == info.binding else " (stale binding)"
            parts.append(f"{team} {mark} {s.by}{stale}")
    return ", ".join(parts)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def versions_table(*, settings: Settings) -> str:
    """Plain-text table for the terminal, newest version first."""
    infos = list_versions(settings)
    if not infos:
        return f"no versions of {settings.model_name} yet: run `handoff train` first"
    header = (
        f"{'version':>7}  {'status':<10} {'test AUC':>8} {'lift@10':>8} {'ECE':>7}  "
        f"{'created (UTC)':<16}  sign-offs"
    )
    lines = [header, "-" * len(header)]
    for info in infos:
        note = ""
        if info.blocked:
            note = f"  [blocked: {info.blocked}]"
        elif info.rolled_back_at:
            note = f"  [rolled back {info.rolled_back_at[:16]}]"
        lines.append(
            f"{info.version:>7}  {info.status:<10} {_fmt(info.metric('auc'), '.4f'):>8} "
            f"{_fmt(info.metric('lift10'), '.2f'):>8} {_fmt(info.metric('ece'), '.4f'):>7}  "
            f"{info.created:%Y-%m-%d %H:%M}  {signoff_cell(info)}{note}"
        )
    return "\n".join(lines)
