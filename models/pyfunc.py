"""The MLflow pyfunc that ships a fitted scorer, its policy and feature sets as one model.

Serving and batch scoring load `models:/<name>@champion` and call `score_raw` (frames) or
`score_columns` (plain arrays, the API) on raw leads and events: features are built by
`features.build` — the same code training used — so there is no second copy of feature
logic to drift. The package source travels with the model (`code_paths`), so it loads
anywhere the pinned libraries are installed.

`features` is imported here, at the top, on purpose: where Handoff is installed, the
installed code scores (MLflow puts a model's `code_paths` copy first on `sys.path`, so a
lazy import would pick whichever copy the first loaded model shipped, mixing versions).
`training_feature_sets` then checks that this code still builds every trained column.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import mlflow
import numpy as np
import numpy.typing as npt
import pandas as pd
from mlflow.pyfunc import PythonModel

from data_contracts.schemas import CONTRACT_VERSION, REQUIRED_COLUMNS
from features._table import lead_index, make_frame
from features.build import feature_columns, feature_sets
from features.feature_sets import ROLES, FeatureSet
from features.interest import as_of_array
from features.lead_accounts import (
    AccountInputs,
    account_columns,
    account_sets,
    is_account_set,
    role_policy_of,
)
from models.mlflow_setup import disable_telemetry
from models.policy import QuadrantPolicy
from models.reasons import Phrasebook
from models.scorer import LeadScorer

_PACKAGES = ("models", "features", "data_contracts")
# The key `score_columns(keep_features=True)` returns the feature columns under.
FEATURES_KEY = "features"
_PINNED = (
    "lightgbm",
    "scikit-learn",
    "scipy",
    "numpy",
    "pandas",
    "pandera",
    "pyarrow",
    "pydantic",
    "joblib",
)


class IncompatibleModel(RuntimeError):
    """The installed feature code cannot rebuild the features this model was trained on."""


def as_feature_sets(raw: Sequence[FeatureSet | Mapping[str, Any]] | None) -> list[FeatureSet]:
    """Feature sets as objects: dicts (a logged `feature_sets.json`) are parsed at the
    boundary, once, so nothing downstream re-reads them by key or name prefix."""
    return [fs if isinstance(fs, FeatureSet) else FeatureSet.from_dict(fs) for fs in raw or ()]


def by_role(feature_sets: Sequence[FeatureSet]) -> dict[str, FeatureSet]:
    """{"fit": set, "interest": set} of the lead's own sets; a model has exactly one per
    role (the account sets a model may read beside them are `account_sets_of`'s)."""
    own = [fs for fs in feature_sets if not is_account_set(fs)]
    found: dict[str, FeatureSet] = {fs.role: fs for fs in own}
    if sorted(found) != sorted(ROLES) or len(own) != len(ROLES):
        raise IncompatibleModel(
            f"expected one fit and one interest feature set, found {[fs.label for fs in own]}"
        )
    return found


def account_sets_of(feature_sets: Sequence[FeatureSet]) -> dict[str, FeatureSet]:
    """The account sets a lead model reads, by role: both or none."""
    found: dict[str, FeatureSet] = {fs.role: fs for fs in feature_sets if is_account_set(fs)}
    if found and sorted(found) != sorted(ROLES):
        raise IncompatibleModel(
            f"expected both account feature sets or none, found {[s.label for s in found.values()]}"
        )
    return found


def events_from_column(leads: pd.DataFrame, column: str = "events") -> pd.DataFrame:
    """Explode a per-lead column of event-dict lists into an events table."""
    rows = [
        {**event, "lead_id": lead_id}
        for lead_id, events in zip(leads["lead_id"], leads[column], strict=True)
        if isinstance(events, list | tuple)
        for event in events
    ]
    frame = pd.DataFrame(rows, columns=None if rows else list(REQUIRED_COLUMNS["events"]))
    for col in REQUIRED_COLUMNS["events"]:
        if col not in frame.columns:
            frame[col] = None
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    return frame


class HandoffModel(PythonModel):  # type: ignore[misc]
    """Scorer + policy + feature sets + contract version, loadable with `mlflow.pyfunc`.

    Build it in memory with the fitted objects, or let `load_context` read them from the
    logged artifacts (`scorer`, `policy`, `feature_sets`, `contract`).
    """

    def __init__(
        self,
        scorer: LeadScorer | None = None,
        policy: QuadrantPolicy | None = None,
        feature_sets: Sequence[FeatureSet | Mapping[str, Any]] | None = None,
        contract_version: str = CONTRACT_VERSION,
    ) -> None:
        self.scorer = scorer
        self.policy = policy
        self.feature_sets: list[FeatureSet] = as_feature_sets(feature_sets)
        self.contract_version = contract_version
        self._use_feature_set_phrases()

    def _use_feature_set_phrases(self) -> None:
        # A scorer fitted without feature sets still gets the phrase templates shipped with it.
        if self.scorer is not None and self.feature_sets:
            book = getattr(self.scorer, "phrasebook_", None)
            if book is None or not book.templates:
                self.scorer.phrasebook_ = Phrasebook.from_feature_sets(self.feature_sets)

    def load_context(self, context: Any) -> None:
        artifacts = context.artifacts
        self.scorer = joblib.load(artifacts["scorer"])
        self.policy = QuadrantPolicy.load(artifacts["policy"])
        self.feature_sets = as_feature_sets(
            json.loads(Path(artifacts["feature_sets"]).read_text(encoding="utf-8"))
        )
        contract = json.loads(Path(artifacts["contract"]).read_text(encoding="utf-8"))
        self.contract_version = str(contract.get("contract_version", CONTRACT_VERSION))
        self._use_feature_set_phrases()

    def _ready(self) -> tuple[LeadScorer, QuadrantPolicy]:
        if self.scorer is None or self.policy is None:
            raise RuntimeError("HandoffModel has no scorer/policy: build it or load it first")
        return self.scorer, self.policy

    def score_features(
        self, features: pd.DataFrame, *, reasons: bool = True, top_k: int = 3
    ) -> pd.DataFrame:
        """Score an already-built feature frame (index lead_id), e.g. test_features.parquet."""
        scorer, policy = self._ready()
        if "lead_id" in features.columns:
            features = features.set_index("lead_id")
        return scorer.score_leads(features, policy, reasons=reasons, top_k=top_k)

    def extras(self) -> tuple[dict[str, str], dict[str, str]]:
        """Mapped lead columns -> kind for the fit and interest sets, as training built them."""
        sets = by_role(self.feature_sets)
        return dict(sets["fit"].extras), dict(sets["interest"].extras)

    def training_feature_sets(self) -> tuple[Any, Any]:
        """The fit and interest sets as training built them: its mapped extras (with their
        kinds), the lead fields it had no data for, and its interest parameters (half-life,
        type weights), rebuilt by the installed `features` code.

        Raises `IncompatibleModel` when that code no longer produces the columns the scorer
        was trained on (a feature-set version changed under it), rather than scoring with
        features the model never saw.
        """
        cached = self.__dict__.get("_training_sets")
        if cached is not None:
            return cached  # type: ignore[no-any-return]

        scorer, _ = self._ready()
        fit_kinds, interest_kinds = self.extras()
        sets = by_role(self.feature_sets)
        params = sets["interest"].params
        fit_set, interest_set = feature_sets(
            fit_kinds,
            interest_kinds,
            half_life_days=float(params["half_life_days"]),
            type_weights=params.get("type_weights"),
            absent_fields=sets["fit"].absent_fields,
        )
        built = {*fit_set.columns, *interest_set.columns}
        if self.reads_accounts:
            self._account_interest_set()  # raises where the account code changed under it
            built |= {c for fs in account_sets_of(self.feature_sets).values() for c in fs.columns}
        lost = [c for c in scorer.columns_ if c not in built]
        if lost:
            trained = ", ".join(fs.label for fs in self.feature_sets)
            raise IncompatibleModel(
                f"this model was trained on feature sets {trained or '(unrecorded)'}; the "
                f"installed features code ({fit_set.label}, {interest_set.label}) no longer "
                f"builds {lost[:5]}"
            )
        self.__dict__["_training_sets"] = (fit_set, interest_set)
        return fit_set, interest_set

    @property
    def reads_accounts(self) -> bool:
        """Whether the lead models read account features (trained with an accounts table)."""
        return bool(account_sets_of(self.feature_sets))

    def _account_interest_set(self) -> FeatureSet:
        """The account interest set as trained, checked against the installed code (once)."""
        cached = self.__dict__.get("_account_interest")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        trained = account_sets_of(self.feature_sets)
        interest = trained["interest"]
        fit_now, interest_now = account_sets()
        built = {*fit_now.columns, *interest_now.columns}
        lost = [c for fs in trained.values() for c in fs.columns if c not in built]
        if lost:
            raise IncompatibleModel(
                f"this model reads account features {[fs.label for fs in trained.values()]}; "
                f"the installed features code ({fit_now.label}, {interest_now.label}) no "
                f"longer builds {lost[:5]}"
            )
        self.__dict__["_account_interest"] = interest
        self.__dict__["_account_roles"] = role_policy_of(interest)
        return interest

    def _with_account_columns(
        self, cols: dict[str, Any], as_of_us: npt.NDArray[np.int64], accounts: AccountInputs | None
    ) -> dict[str, Any]:
        """`cols` plus the account columns, for a model that reads them."""
        if not self.reads_accounts:
            return cols
        given = accounts if accounts is not None else AccountInputs.alone(len(as_of_us))
        interest = self._account_interest_set()
        cols.update(account_columns(given, as_of_us, interest, self.__dict__["_account_roles"]))
        return cols

    def score_raw(
        self,
        leads: pd.DataFrame,
        events: pd.DataFrame,
        as_of: pd.Timestamp | pd.Series | None = None,
        *,
        reasons: bool = True,
        top_k: int = 3,
        accounts: AccountInputs | None = None,
    ) -> pd.DataFrame:
        """Build features exactly as training did, then score; as_of defaults to now (UTC).

        `accounts`: the leads' accounts and the contacts they are seen with, for a model
        that `reads_accounts` (without them each lead scores as alone in its account)."""

        scorer, policy = self._ready()
        fit_set, interest_set = self.training_feature_sets()
        ids = lead_index(leads)
        as_of_us = as_of_array(as_of, ids)
        cols = feature_columns(leads, events, ids, as_of_us, fit_set, interest_set)
        cols = self._with_account_columns(cols, as_of_us, accounts)
        return scorer.score_leads(make_frame(cols, ids), policy, reasons=reasons, top_k=top_k)

    def score_columns(
        self,
        leads: Mapping[str, Any],
        events: Mapping[str, Any],
        as_of_us: npt.NDArray[np.int64],
        *,
        reasons: bool = True,
        top_k: int = 3,
        keep_features: bool = False,
        accounts: AccountInputs | None = None,
    ) -> dict[str, Any]:
        """`score_raw` on plain columns (name -> numpy array; times as int64 µs since epoch),
        answered as columns in the order of `leads`: the API's path, with no DataFrame.

        Same feature code, same encoder semantics and same models as `score_raw`.
        `keep_features` adds the feature columns scored (`FEATURES_KEY`), so serving can
        count them into the drift profile's bins without building them twice. `accounts`:
        as `score_raw`'s.
        """
        scorer, policy = self._ready()
        fit_set, interest_set = self.training_feature_sets()
        ids = list(leads["lead_id"])
        cols = feature_columns(leads, events, ids, as_of_us, fit_set, interest_set)
        cols = self._with_account_columns(cols, as_of_us, accounts)
        out = scorer.score_columns(cols, len(ids), policy, reasons=reasons, top_k=top_k)
        if keep_features:
            out[FEATURES_KEY] = cols
        return out

    # model_input is deliberately unannotated: MLflow reads that hint as an input schema.
    def predict(self, context: Any, model_input, params: dict[str, Any] | None = None) -> Any:  # type: ignore[no-untyped-def]
        """Score leads given as a DataFrame (optional `events` column of event-dict lists), or
        a dict `{"leads": df, "events": df}` (and `"accounts": df`: each lead then seen with
        the contacts of its account among these leads) / `{"features": df}`; lead_id comes
        back a column.

        params: `as_of` (ISO timestamp), `reasons` (bool), `top_k` (int).
        """
        params = params or {}
        reasons = bool(params.get("reasons", True))
        top_k = int(params.get("top_k", 3))
        as_of = pd.Timestamp(params["as_of"]) if params.get("as_of") else None
        if isinstance(model_input, Mapping) and "features" in model_input:
            scored = self.score_features(
                pd.DataFrame(model_input["features"]), reasons=reasons, top_k=top_k
            )
        else:
            accounts = None
            if isinstance(model_input, Mapping):
                leads = pd.DataFrame(model_input["leads"])
                events = model_input.get("events")
                events = (
                    pd.DataFrame(events)
                    if events is not None
                    else events_from_column(leads.assign(events=None))
                )
                table = model_input.get("accounts")
                if table is not None:
                    accounts = AccountInputs.of_folder(leads, leads, events, pd.DataFrame(table))
            else:
                leads = pd.DataFrame(model_input)
                events = events_from_column(leads.assign(events=leads.get("events")))
                leads = leads.drop(columns=["events"], errors="ignore")
            scored = self.score_raw(
                leads, events, as_of, reasons=reasons, top_k=top_k, accounts=accounts
            )
        return scored.rename_axis("lead_id").reset_index()


def _requirements(extra: Sequence[str] | None) -> list[str]:
    pins = []
    for dist in _PINNED:
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pins.append(dist)
    pins.append(f"mlflow=={metadata.version('mlflow')}")
    return [*pins, *(extra or ())]


def log_handoff_model(
    scorer: LeadScorer,
    policy: QuadrantPolicy,
    feature_sets: Sequence[Any],
    *,
    artifact_path: str = "model",
    registered_model_name: str | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    python_model: HandoffModel | None = None,
) -> Any:
    """Log the pyfunc (in the active run, if any) and return its `ModelInfo`.

    `python_model`: the class that loads the files (an empty instance), a `HandoffModel`
    unless told otherwise (the account model's is `models.account_pyfunc.AccountModel`).

    Requirements are pinned to the installed versions (no slow inference subprocess); the
    `models`, `features` and `data_contracts` sources ride along as `code_paths`.
    """
    disable_telemetry()
    import data_contracts
    import features

    roots = {
        "models": Path(__file__).resolve().parent,
        "features": Path(features.__file__).resolve().parent,
        "data_contracts": Path(data_contracts.__file__).resolve().parent,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        joblib.dump(scorer, folder / "scorer.joblib")
        policy.save(folder / "policy.json")
        (folder / "feature_sets.json").write_text(
            json.dumps(
                [fs.to_dict() for fs in as_feature_sets(feature_sets)], indent=2, default=str
            ),
            encoding="utf-8",
        )
        (folder / "contract.json").write_text(
            json.dumps({"contract_version": CONTRACT_VERSION}), encoding="utf-8"
        )
        artifacts = {
            "scorer": str(folder / "scorer.joblib"),
            "policy": str(folder / "policy.json"),
            "feature_sets": str(folder / "feature_sets.json"),
            "contract": str(folder / "contract.json"),
        }
        return mlflow.pyfunc.log_model(
            name=artifact_path,
            python_model=python_model if python_model is not None else HandoffModel(),
            artifacts=artifacts,
            code_paths=[str(roots[p]) for p in _PACKAGES],
            pip_requirements=_requirements(extra_pip_requirements),
            registered_model_name=registered_model_name,
        )
