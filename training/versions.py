"""`handoff models`: every version with its status, sign-offs and headline numbers.

This is the read side of governance. Status is *derived* by the rule in
`models.mlflow_layout` (champion > previous > rejected > blocked > approved > candidate) from
the aliases, the sign-off tags and, for a version that could serve, a re-hash of its files.
`sync_status_tags` mirrors the part the registry records (aliases and tags) into the
`handoff.status` tag, so MLflow's UI shows the same word as this table, except for a version
whose files changed behind the registry's back: the table says `blocked` with the reason;
the tag cannot know.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from models.mlflow_layout import (
    APPROVED,
    AUC_METRIC,
    BINDING_TAG,
    BLOCKED,
    CANDIDATE,
    CHALLENGER,
    CHAMPION,
    ECE_METRIC,
    LEAKAGE_KEPT_TAG,
    LIFT10_METRIC,
    PREVIOUS,
    REJECTED,
    ROLLED_BACK_TAG,
    STATUS_TAG,
    TEAMS,
    VERDICT_TAG,
    Signoff,
    binding_problems,
    rejection_problems,
    run_id_of,
    signoff_blockers,
    signoff_problems,
    signoffs_from_tags,
)
from models.mlflow_setup import configure_mlflow
from models.settings import Settings
from training.verdict import SHORT_WORDS

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

# The table's short names for three of the layout's headline metrics.
TABLE_METRICS: dict[str, str] = {"auc": AUC_METRIC, "lift10": LIFT10_METRIC, "ece": ECE_METRIC}


class UnknownVersion(LookupError):
    """The registered model has no such version."""


@dataclass(frozen=True)
class VersionInfo:
    """What the table and the report show about one model version."""

    version: str
    run_id: str
    status: str
    aliases: tuple[str, ...]
    signoffs: dict[str, Signoff]
    binding: str
    blockers: tuple[str, ...]
    created: datetime
    metrics: dict[str, float] = field(default_factory=dict)
    rolled_back_at: str | None = None
    verdict: str | None = None  # the word training gave it (`training.verdict`)
    leakage_kept: str | None = None  # suspect columns the mapping kept, one per line

    def metric(self, key: str) -> float | None:
        """A headline metric by short name (auc, lift10, ece), None when not logged."""
        value = self.metrics.get(TABLE_METRICS.get(key, key))
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


def review_status(tags: dict[str, str], file_problems: list[str] | tuple[str, ...] = ()) -> str:
    """rejected, blocked, approved or candidate, ignoring aliases.

    `file_problems` are the version's `binding_problems` (a re-hash of its files).
    """
    if rejection_problems(tags):
        return REJECTED
    if signoff_blockers(tags) or file_problems:
        return BLOCKED
    if not signoff_problems(tags):
        return APPROVED
    return CANDIDATE


def derive_status(
    tags: dict[str, str],
    aliases: list[str] | tuple[str, ...],
    file_problems: list[str] | tuple[str, ...] = (),
) -> str:
    """champion / previous from the aliases, else the review status."""
    if CHAMPION in aliases:
        return CHAMPION
    if PREVIOUS in aliases:
        return PREVIOUS
    return review_status(tags, file_problems)


def _file_problems(mv: ModelVersion, aliases: list[str]) -> list[str]:
    """`binding_problems` for a version the tags would let serve, or that an alias names.

    For every other version the tags already say why it may not serve, and re-hashing each
    version's files would make every listing and governance command slow.
    """
    if aliases or not signoff_problems(dict(mv.tags)):
        return binding_problems(mv)
    return []


def sync_status_tags(client: MlflowClient, settings: Settings) -> dict[str, str]:
    """Rewrite `handoff.status` where it no longer matches the record; return changes.

    The tag mirrors the registry's record (aliases and tags), not the files: files can change
    without any command, so their check belongs where a version is used or listed.
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
    try:
        run_id = run_id_of(mv)
    except LookupError:
        run_id = ""
    file_problems = _file_problems(mv, aliases)
    return VersionInfo(
        version=str(mv.version),
        run_id=run_id,
        status=derive_status(tags, aliases, file_problems),
        aliases=tuple(sorted(aliases)),
        signoffs=signoffs_from_tags(tags),
        binding=tags.get(BINDING_TAG, ""),
        blockers=tuple(signoff_blockers(tags) + file_problems),
        created=datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC),
        metrics=metrics,
        rolled_back_at=tags.get(ROLLED_BACK_TAG) or None,
        verdict=tags.get(VERDICT_TAG) or None,
        leakage_kept=tags.get(LEAKAGE_KEPT_TAG) or None,
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


def _signoff_text(s: Signoff | None, binding: str) -> str:
    if s is None:
        return "-"
    mark = "ok" if s.approved else "REJECTED" if s.rejected else repr(s.decision)
    stale = "" if s.bound_to(binding) else " (stale binding)"
    return f"{mark} {s.by}{stale}"


def signoff_cell(info: VersionInfo) -> str:
    """`marketing ok jane, bdr REJECTED joe` style summary; `-` for a team not yet decided."""
    return ", ".join(
        f"{team} {_signoff_text(info.signoffs.get(team), info.binding)}" for team in TEAMS
    )


def _redacted(uri: str) -> str:
    """The URI with any password replaced, safe to print."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def where_versions_are_read(settings: Settings) -> str:
    """Which store a listing read, and how to read another (the home depends on the cwd)."""
    return (
        f"read home {Path(settings.home).resolve()} "
        f"(tracking URI {_redacted(settings.resolved_tracking_uri)}); to read another store, "
        "set HANDOFF_HOME to its folder (or HANDOFF_TRACKING_URI to its URI)"
    )


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def versions_table(*, settings: Settings) -> str:
    """Plain-text table for the terminal, newest version first."""
    infos = list_versions(settings)
    if not infos:
        return (
            f"no versions of {settings.model_name} yet: run `handoff train` first\n"
            + where_versions_are_read(settings)
        )
    header = (
        f"{'version':>7}  {'status':<10} {'test AUC':>8} {'lift@10':>8} {'ECE':>7}  "
        f"{'verdict':<14}  {'created (UTC)':<16}  sign-offs"
    )
    lines = [header, "-" * len(header)]
    for info in infos:
        notes = []
        if info.blockers:
            notes.append(f"[blocked: {'; '.join(info.blockers)}]")
        elif info.rolled_back_at:
            notes.append(f"[rolled back {info.rolled_back_at[:16]}]")
        if CHALLENGER in info.aliases:
            notes.append("[challenger: scored in the shadow, never answered]")
        if info.leakage_kept:
            kept = [line.split(" ", 1)[0] for line in info.leakage_kept.splitlines()]
            notes.append(f"[WARNING: trained with suspected leakage kept: {', '.join(kept)}]")
        verdict = SHORT_WORDS.get(info.verdict or "", info.verdict or "-")
        lines.append(
            f"{info.version:>7}  {info.status:<10} {_fmt(info.metric('auc'), '.4f'):>8} "
            f"{_fmt(info.metric('lift10'), '.2f'):>8} {_fmt(info.metric('ece'), '.4f'):>7}  "
            f"{verdict:<14}  {info.created:%Y-%m-%d %H:%M}  {signoff_cell(info)}"
            + "".join(f"  {n}" for n in notes)
        )
    lines.append(f"(versions of registered model {settings.model_name})")
    return "\n".join(lines)
