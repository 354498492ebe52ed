"""Load `models:/<name>@champion` and follow the alias with an atomic swap.

A background thread polls the alias. A new version is loaded fully (and warmed up) off
to the side; only then is the one `Champion` reference replaced. A request reads that
reference once, so it is scored entirely by the old or entirely by the new version.
Serving only ever loads a version both teams signed off on that exact model and policy,
by the same rule promotion uses (`models.mlflow_layout.version_problems`, which re-hashes
the files); otherwise it is not ready, and `reason` gives that rule's words. The check is
made when a version is loaded: a running server keeps serving its champion through later
tag edits or a rejection, until the alias moves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from features.feature_sets import FeatureSet
from models import mlflow_layout as layout
from models.drift import FeatureProfile
from models.mlflow_layout import (
    BINDING_TAG,
    CHAMPION,
    CONTRACT_VERSION_TAG,
    HEADLINE_METRICS,
    POLICY_FILE,
    TEAMS,
    Signoff,
    signoffs_from_tags,
    version_problems,
)
from models.mlflow_setup import configure_mlflow
from models.pyfunc import HandoffModel, IncompatibleModel
from serving.scoring import warm_up
from serving.served_model import ServedModel
from serving.settings import ServingSettings

logger = logging.getLogger("handoff.serving")

NO_CHAMPION = "no champion: sign off and promote a version (handoff promote VERSION)"


@dataclass(frozen=True)
class Champion:
    """One loaded model version and everything `/v1/model` and each answer report about it."""

    name: str
    version: str
    model: ServedModel
    run_id: str | None
    binding: str | None
    signoffs: dict[str, dict[str, Any]]
    policy: dict[str, Any]
    training_window: dict[str, Any]
    metrics: dict[str, float]
    feature_sets: list[dict[str, str]]
    contract_version: str
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The mapped inputs it was trained with ({name, kind, role}) and what it was trained on.
    extras: list[dict[str, str]] = field(default_factory=list)
    source: str | None = None
    # The bins its served features are counted into (None: its run predates the profile).
    feature_profile: FeatureProfile | None = None

    @property
    def extra_kinds(self) -> dict[str, str]:
        """Extra input name -> "numeric" | "categorical", as a request must send it."""
        return {e["name"]: e["kind"] for e in self.extras}


def extra_inputs(feature_sets: list[FeatureSet]) -> list[dict[str, str]]:
    """The mapped lead columns a model's feature sets read, with their kind and role."""
    return [
        {"name": f.source, "kind": f.kind, "role": fs.role}
        for fs in feature_sets
        for f in fs.features
        if f.source is not None
    ]


def _signoff_view(signoff: Signoff | None, binding: str) -> dict[str, Any]:
    """One team's sign-off as `/v1/model` shows it."""
    if signoff is None:
        return {"binding_matches": False}
    return {
        "decision": signoff.decision,
        "by": signoff.by,
        "at": signoff.at,
        "comment": signoff.comment,
        "binding_matches": signoff.bound_to(binding),
    }


def _is_missing(exc: Exception) -> bool:
    """MLflow's way of saying the model or the alias does not exist."""
    code = getattr(exc, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")


StateListener = Callable[[str | None, str], None]


class ChampionHolder:
    """The serving model reference, its loader and the thread that follows the alias.

    `listeners` hear (version or None, reason) after every check that changed either: the
    worker board (readiness across processes) and the model gauges.
    """

    def __init__(
        self,
        settings: ServingSettings,
        listeners: tuple[StateListener, ...] = (),
        *,
        alias: str = CHAMPION,
        problems: Callable[[Any], list[str]] = version_problems,
        model_type: type[HandoffModel] = HandoffModel,
        warm: Callable[[Any], None] = warm_up,
        no_champion: str = NO_CHAMPION,
    ) -> None:
        self.settings = settings
        # What the registered model must hold (a lead model is never an account model, and
        # the other way round), how to warm one up, and what to say while none serves.
        self.model_type = model_type
        self.warm = warm
        self.no_champion = no_champion
        self.listeners = listeners
        self.alias = alias  # `challenger` for the shadow holder (`serving.shadow`)
        self.problems = problems
        self._heard: tuple[str | None, str] | None = None
        self._current: Champion | None = None
        self._reason = no_champion
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed_version: str | None = None
        self._client: Any = None

    @property
    def current(self) -> Champion | None:
        """Read once per request: the swap replaces this reference atomically."""
        return self._current

    @property
    def reason(self) -> str:
        """Why nothing is serving, for `/readyz` and 503s."""
        return self._reason

    def _mlflow(self) -> Any:
        if self._client is None:
            configure_mlflow(self.settings)
            from mlflow import MlflowClient

            uri = self.settings.resolved_tracking_uri
            self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        return self._client

    def refresh(self) -> bool:
        """Check the alias once; load and swap in a new version. True when it changed."""
        try:
            return self._refresh()
        finally:
            self._tell_listeners()

    def _tell_listeners(self) -> None:
        version = self._current.version if self._current else None
        state = (version, "" if version else self._reason)
        if state == self._heard:
            return
        self._heard = state
        for listener in self.listeners:
            try:
                listener(*state)
            except Exception:
                logger.exception("champion state listener failed")

    def _refresh(self) -> bool:
        client = self._mlflow()
        name = self.settings.model_name
        try:
            mv = client.get_model_version_by_alias(name, self.alias)
        except Exception as exc:
            if not _is_missing(exc):
                raise  # a store hiccup must not take a healthy champion out of service
            if self._current is not None:
                logger.warning("%s alias removed; no longer serving it", self.alias)
            self._current, self._reason = None, self.no_champion
            return False
        version = str(mv.version)
        if self._current is not None and self._current.version == version:
            return False
        tags = dict(mv.tags or {})
        problems = self.problems(mv)
        if problems:
            reason = f"{self.alias} version {version} is not servable: {'; '.join(problems)}"
            if self._failed_version != version or self._reason != reason:
                logger.error("refusing to serve: %s", reason)
                self._failed_version = version
            self._current = None
            self._reason = reason
            return False
        try:
            champion = self._load(client, name, version, mv.run_id, tags)
        except Exception as exc:
            if self._failed_version != version:
                logger.exception("loading champion version %s failed; will retry", version)
                self._failed_version = version
            if self._current is None:
                self._reason = (
                    f"champion version {version} cannot be served by this code: {exc}"
                    if isinstance(exc, IncompatibleModel)
                    else f"champion version {version} failed to load (see server log)"
                )
            return False
        old = self._current.version if self._current else None
        self._current = champion
        self._failed_version = None
        logger.info("serving model %s version %s (was %s)", name, version, old)
        return True

    def _load(
        self, client: Any, name: str, version: str, run_id: str | None, tags: dict[str, str]
    ) -> Champion:
        """Load one version completely (model, policy, window, metrics) and warm it up."""
        import mlflow

        pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
        loaded = pyfunc.unwrap_python_model()
        if type(loaded) is not self.model_type:
            raise IncompatibleModel(
                f"version {version} is a {type(loaded).__name__}, not a {self.model_type.__name__}"
            )
        model: ServedModel = loaded
        policy: dict[str, Any] = {}
        window: dict[str, Any] = {}
        metrics: dict[str, float] = {}
        source: str | None = None
        profile: FeatureProfile | None = None
        if model.policy is not None:
            policy = model.policy.model_dump(mode="json")
        if run_id:
            run = client.get_run(run_id)
            metrics = {
                k: float(run.data.metrics[k]) for k in HEADLINE_METRICS if k in run.data.metrics
            }
            from mlflow.artifacts import load_dict

            summary = self._artifact_dict(load_dict, run_id, layout.SUMMARY_FILE)
            window = {
                k: summary[k]
                for k in ("windows", "data_end", "horizon_days", "n_labelled", "n_censored")
                if k in summary
            }
            source = summary.get("source")
            bins = self._artifact_dict(load_dict, run_id, layout.FEATURE_PROFILE_FILE)
            profile = FeatureProfile.from_dict(bins) if bins else None
            if not policy:
                policy = self._artifact_dict(load_dict, run_id, POLICY_FILE)
        binding = tags.get(BINDING_TAG, "")
        decided = signoffs_from_tags(tags)
        signoffs = {team: _signoff_view(decided.get(team), binding) for team in TEAMS}
        self.warm(model)
        return Champion(
            name=name,
            version=version,
            model=model,
            run_id=run_id,
            binding=binding or None,
            signoffs=signoffs,
            policy=policy,
            training_window=window,
            metrics=metrics,
            feature_sets=[fs.identity() for fs in model.feature_sets],
            extras=extra_inputs(model.feature_sets),
            source=source,
            feature_profile=profile,
            contract_version=str(
                getattr(model, "contract_version", None)
                or tags.get(CONTRACT_VERSION_TAG, "unknown")
            ),
        )

    @staticmethod
    def _artifact_dict(load_dict: Any, run_id: str, path: str) -> dict[str, Any]:
        try:
            loaded = load_dict(f"runs:/{run_id}/{path}")
        except Exception:
            logger.warning("run %s has no %s", run_id, path)
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def start(self) -> None:
        """First load (a failure only means not ready), then follow the alias in the background."""
        try:
            self.refresh()
        except Exception:
            logger.exception("champion check failed at start-up; will keep polling")
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="champion-follower", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.settings.reload_interval_seconds):
            try:
                self.refresh()
            except Exception:
                logger.exception("champion poll failed; will retry")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
