"""Account rows for an account model: one row per account and cut-off, labelled by the account
winning a deal within the horizon, its features as of the cut-off.

Why cut-offs and not one row per account: an account is a prospect for months while contacts
come and go; a row every `every_days` (from the first contact on, until its first win) asks
what a BDR asks each quarter, "will this account buy within the horizon?", with only what was
known then. Censoring is as for leads (`features.labels`): a cut-off whose horizon runs past
the data's end and has no win yet is unknown, not a loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features._time import NAT, US_PER_DAY, epoch_us, from_epoch_us, scalar_us
from features.account_sets import ACCOUNT_FIT_V1, ACCOUNT_INTEREST_V1
from features.accounts import account_codes, account_fit_arrays, account_interest_at
from features.roles import RolePolicy

ROW_EVERY_DAYS = 90
_NEVER = np.iinfo(np.int64).max


def _first_per_account(code: np.ndarray, at: np.ndarray, n_accounts: int) -> np.ndarray:
    """Earliest time per account row (`_NEVER` when none)."""
    out = np.full(n_accounts, _NEVER, dtype=np.int64)
    ok = (code >= 0) & (at != NAT)
    np.minimum.at(out, code[ok], at[ok])
    return out


def account_rows(
    leads: pd.DataFrame,
    outcomes: pd.DataFrame,
    accounts: pd.DataFrame,
    *,
    data_end: Any,
    horizon_days: int = 180,
    every_days: int = ROW_EVERY_DAYS,
) -> pd.DataFrame:
    """Columns `account_id`, `as_of`, `account_row` (row of `accounts`), `label` (Int8: 1 won
    in (as_of, as_of + horizon], 0 not, <NA> censored), `censored`, `won_at`; one row per
    account and cut-off from its first contact's creation until its first win, ordered by
    cut-off then account."""
    code = account_codes(leads, accounts)
    n_acc = len(accounts)
    created = _first_per_account(code, epoch_us(leads["created_at"]), n_acc)
    lead_row = pd.Index(leads["lead_id"]).get_indexer(pd.Index(outcomes["lead_id"]))
    won_rows = (outcomes["stage"].astype("str") == "closed_won").to_numpy() & (lead_row >= 0)
    won_code = np.full(len(outcomes), -1, dtype=np.int64)
    won_code[won_rows] = code[lead_row[won_rows]]
    won = _first_per_account(won_code, epoch_us(outcomes["occurred_at"]), n_acc)
    end = scalar_us(data_end)
    step = int(every_days * US_PER_DAY)
    horizon = int(horizon_days * US_PER_DAY)
    start = created[created < _NEVER].min(initial=end)
    parts = []
    for cut in range(int(start) + step, end, step):
        open_ = np.flatnonzero((created < cut) & (won > cut))
        win = won[open_] <= cut + horizon
        known = win | (cut + horizon <= end)
        parts.append(
            pd.DataFrame(
                {
                    "account_row": open_,
                    "as_of_us": cut,
                    "label": pd.Series(win.astype(np.int8), dtype="Int8").where(known),
                    "censored": ~known,
                    "won_us": won[open_],
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if rows.empty:
        return pd.DataFrame(
            columns=["account_id", "as_of", "account_row", "label", "censored", "won_at"]
        )
    won_at = np.where(rows["won_us"] < _NEVER, rows["won_us"], NAT)
    return pd.DataFrame(
        {
            "account_id": accounts["account_id"].to_numpy(dtype=object)[rows["account_row"]],
            "as_of": from_epoch_us(rows["as_of_us"].to_numpy(np.int64)),
            "account_row": rows["account_row"].to_numpy(np.int64),
            "label": rows["label"].to_numpy(),
            "censored": rows["censored"].to_numpy(bool),
            "won_at": from_epoch_us(won_at.astype(np.int64)),
        }
    )


def account_row_features(
    rows: pd.DataFrame,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    accounts: pd.DataFrame,
    *,
    roles: RolePolicy | None = None,
) -> pd.DataFrame:
    """`ACCOUNT_FIT_V1` + `ACCOUNT_INTEREST_V1` of each account row, as of its cut-off; index
    `account_id@as_of` (one per row)."""
    seg = rows["account_row"].to_numpy(np.int64)
    t = epoch_us(rows["as_of"])
    cols = account_fit_arrays(seg, accounts)
    cols.update(
        account_interest_at(leads, events, account_codes(leads, accounts), seg, t, roles=roles)
    )
    index = pd.Index(
        rows["account_id"].astype(str) + "@" + rows["as_of"].dt.strftime("%Y-%m-%d"),
        name="account_row",
    )
    frame = pd.DataFrame(cols, index=index)
    return frame[ACCOUNT_FIT_V1.columns + ACCOUNT_INTEREST_V1.columns]
