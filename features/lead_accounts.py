"""Account features as inputs to the lead models: a lead seen with its account and its
buying group (a director at an account where three colleagues attended the webinar is not
the same lead as one alone), as of the lead's own snapshot.

Training adds them when the data has an accounts table (`with_account_features`); the model
records the two account sets with what their values depend on (half-life, type weights,
role policy), and scoring rebuilds exactly those (`account_columns`) over the contacts the
caller knows: the whole folder in batch, the lead and the colleagues its request sent in
the API. Nothing here decides whether a model uses them; the data and the flag do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features._table import lead_index, make_frame
from features.account_sets import ACCOUNT_FIT_V1, ACCOUNT_INTEREST_V1
from features.accounts import account_codes, account_fit_arrays, account_interest_arrays
from features.build import FeatureFrame
from features.feature_sets import DEFAULT_HALF_LIFE_DAYS, FeatureSet
from features.interest import as_of_array, weights
from features.roles import RolePolicy

I64 = npt.NDArray[np.int64]
ACCOUNT_SET_NAMES = (ACCOUNT_FIT_V1.name, ACCOUNT_INTEREST_V1.name)
ROLE_POLICY_PARAM = "role_policy"
_NO_CONTACTS = pd.DataFrame({"lead_id": pd.Series(dtype=object)})


def is_account_set(fs: FeatureSet) -> bool:
    """Whether `fs` is one of the account sets (a lead model reads them beside its own)."""
    return fs.name in ACCOUNT_SET_NAMES


def account_sets(
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    type_weights: Mapping[str, float] | None = None,
    roles: RolePolicy | None = None,
) -> tuple[FeatureSet, FeatureSet]:
    """The account fit and interest sets, the interest one carrying its parameters."""
    params = {
        "half_life_days": float(half_life_days),
        "type_weights": weights(type_weights),
        ROLE_POLICY_PARAM: (roles or RolePolicy()).model_dump(),
    }
    return ACCOUNT_FIT_V1, replace(ACCOUNT_INTEREST_V1, params=params)


def role_policy_of(interest_set: FeatureSet) -> RolePolicy:
    """The role policy an account interest set was built with."""
    recorded = interest_set.params.get(ROLE_POLICY_PARAM)
    return RolePolicy.model_validate(recorded) if recorded is not None else RolePolicy()


@dataclass(frozen=True)
class AccountInputs:
    """What some leads' account features are seen from: the accounts table (None: no
    firmographics), every contact the caller knows with their events, and each lead's row
    in `accounts` (-1: no account; it scores as a lead alone)."""

    contacts: pd.DataFrame
    events: pd.DataFrame
    accounts: pd.DataFrame | None
    lead_rows: I64

    @classmethod
    def of_folder(
        cls,
        leads: pd.DataFrame,
        contacts: pd.DataFrame,
        events: pd.DataFrame,
        accounts: pd.DataFrame | None,
    ) -> AccountInputs:
        """`leads` (a chunk of `contacts`) seen with their accounts' contacts only, so a
        chunk costs what its accounts hold, not the whole folder."""
        rows = account_codes(leads, accounts)
        if accounts is None or "account_id" not in contacts.columns:
            return cls(leads, events.iloc[:0], None, rows)
        ids = accounts["account_id"].to_numpy(dtype=object)[np.unique(rows[rows >= 0])]
        theirs = contacts[contacts["account_id"].isin(ids)]
        return cls(theirs, events[events["lead_id"].isin(theirs["lead_id"])], accounts, rows)

    @classmethod
    def alone(cls, n_leads: int) -> AccountInputs:
        """`n_leads` leads with no account context: each scored as a lead alone."""
        return cls(_NO_CONTACTS, pd.DataFrame(), None, np.full(n_leads, -1, np.int64))


def account_columns(
    inputs: AccountInputs,
    as_of_us: I64,
    interest_set: FeatureSet,
    roles: RolePolicy | None = None,
) -> dict[str, Any]:
    """The account fit and interest columns of the leads `inputs.lead_rows` point at, each
    as of its `as_of_us`, built with `interest_set`'s recorded parameters (`roles`: its role
    policy already read, as a model keeps it)."""
    params = interest_set.params
    cols = account_fit_arrays(inputs.lead_rows, inputs.accounts)
    cols.update(
        account_interest_arrays(
            inputs.contacts,
            inputs.events,
            account_codes(inputs.contacts, inputs.accounts),
            as_of_us,
            half_life_days=float(params.get("half_life_days", DEFAULT_HALF_LIFE_DAYS)),
            type_weights=params.get("type_weights"),
            roles=roles if roles is not None else role_policy_of(interest_set),
            query_code=inputs.lead_rows,
        )
    )
    return cols


def with_account_features(
    features: FeatureFrame,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    accounts: pd.DataFrame,
    as_of: Any,
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    roles: RolePolicy | None = None,
) -> FeatureFrame:
    """`features` (built by `build_features` on these leads) with the account columns
    beside them: account fit in the fit model's inputs, account interest in the interest
    model's, and the two sets recorded so scoring rebuilds the same."""
    fit_set, interest_set = account_sets(half_life_days=half_life_days, roles=roles)
    ids = lead_index(leads)
    if not ids.equals(features.frame.index):
        raise ValueError("account features must be built on the same leads, in the same order")
    # The code scoring runs, on the recorded set: every lead seen with the whole folder.
    inputs = AccountInputs(leads, events, accounts, account_codes(leads, accounts))
    acct = account_columns(inputs, as_of_array(as_of, ids), interest_set, roles)
    return FeatureFrame(
        frame=pd.concat([features.frame, make_frame(acct, ids)], axis=1),
        fit_columns=[*features.fit_columns, *fit_set.columns],
        interest_columns=[*features.interest_columns, *interest_set.columns],
        categorical_columns=[
            *features.categorical_columns,
            *fit_set.categorical_columns,
            *interest_set.categorical_columns,
        ],
        feature_sets=[*features.feature_sets, fit_set, interest_set],
    )
