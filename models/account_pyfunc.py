"""The account scorer as an MLflow pyfunc: an account and its contacts in, the account's
scores, quadrant, reasons and missing roles out.

Why a subclass of `HandoffModel`: the files (scorer, policy, feature sets, contract) and
their loading are the lead model's; only what goes in differs. Features are built by
`features.account_rows.account_row_features`, the code training built the account rows
with, so serving and batch scoring have no second copy. It refuses to score leads: a lead
champion must never be an account model, nor the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features._time import from_epoch_us
from features.account_rows import account_row_features
from features.account_sets import GROUP_ROLES, engaged_role_column
from features.feature_sets import FeatureSet
from models.account_scores import ACCOUNT_SETS, score_accounts
from models.pyfunc import HandoffModel, IncompatibleModel

NOT_LEADS = "an account model scores accounts (POST /v1/accounts/score), not leads"


class AccountModel(HandoffModel):
    """Account scorer + account policy + the account feature sets, loadable with MLflow."""

    def training_feature_sets(self) -> tuple[Any, Any]:
        """The account sets this code builds, if they are the ones the scorer was trained on.

        Raises `IncompatibleModel` when a set's name or version differs, or a trained column
        is no longer built.
        """
        scorer, _ = self._ready()
        trained = {fs.name: fs.version for fs in self.feature_sets}
        installed = {fs.name: fs.version for fs in ACCOUNT_SETS}
        built = {c for fs in ACCOUNT_SETS for c in fs.columns}
        lost = [c for c in scorer.columns_ if c not in built]
        if trained != installed or lost:
            raise IncompatibleModel(
                f"this account model was trained on {trained}; the installed features code "
                f"builds {installed}" + (f" and no longer builds {lost[:5]}" if lost else "")
            )
        return ACCOUNT_SETS

    def score_accounts(
        self,
        leads: pd.DataFrame,
        events: pd.DataFrame,
        accounts: pd.DataFrame,
        as_of_us: npt.NDArray[np.int64],
        *,
        top_k: int = 3,
    ) -> pd.DataFrame:
        """One answer per row of `accounts` (index `account_id`), each as of its `as_of_us`:
        scores, quadrant, action, reasons, `group_text` and `missing_roles`, plus the
        contacts, engaged contacts (in all and per role) and roles covered it states."""
        scorer, policy = self._ready()
        self.training_feature_sets()
        rows = pd.DataFrame(
            {
                "account_id": accounts["account_id"].astype(str).to_numpy(),
                "as_of": from_epoch_us(np.asarray(as_of_us, dtype=np.int64)),
                "account_row": np.arange(len(accounts), dtype=np.int64),
            }
        )
        X = account_row_features(rows, leads, events, accounts)
        out = score_accounts(scorer, X, policy, top_k=top_k)
        out["engaged_contacts"] = X["acct_engaged_contacts"].to_numpy(dtype=np.int64)
        out["roles_covered"] = X["acct_roles_covered"].to_numpy(dtype=np.int64)
        out["contacts"] = X["acct_contacts"].to_numpy(dtype=np.int64)
        for role in GROUP_ROLES:
            out[engaged_role_column(role)] = X[engaged_role_column(role)].to_numpy(np.int64)
        return out.set_axis(pd.Index(rows["account_id"], name="account_id"))

    def score_columns(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise IncompatibleModel(NOT_LEADS)

    def score_raw(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        raise IncompatibleModel(NOT_LEADS)

    # model_input is deliberately unannotated: MLflow reads that hint as an input schema.
    def predict(self, context: Any, model_input, params: dict[str, Any] | None = None) -> Any:  # type: ignore[no-untyped-def]
        """Score accounts given as `{"leads": df, "events": df, "accounts": df}` (the
        contract tables) or `{"features": df}` (built account rows); `account_id` comes back
        a column. params: `as_of` (ISO timestamp; default now), `top_k` (int)."""
        params = params or {}
        top_k = int(params.get("top_k", 3))
        if not isinstance(model_input, Mapping):
            raise TypeError("an account model takes {'leads', 'events', 'accounts'} frames")
        if "features" in model_input:
            scorer, policy = self._ready()
            X = pd.DataFrame(model_input["features"])
            return score_accounts(scorer, X, policy, top_k=top_k).reset_index()
        accounts = pd.DataFrame(model_input["accounts"])
        as_of = pd.Timestamp(params.get("as_of") or pd.Timestamp.now(tz="UTC"))
        as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of
        stamps = np.full(len(accounts), as_of.value // 1000, dtype=np.int64)
        scored = self.score_accounts(
            pd.DataFrame(model_input["leads"]),
            pd.DataFrame(model_input["events"]),
            accounts,
            stamps,
            top_k=top_k,
        )
        return scored.reset_index()


def account_feature_sets() -> list[FeatureSet]:
    """The feature sets an account model is logged with."""
    return list(ACCOUNT_SETS)
