"""Account features: the lead's account and its buying group, seen *as of* the lead's snapshot.

Account fit reads the accounts table (firmographics, named list, ABM tier, hierarchy).
Account interest reads every contact of the account (the leads sharing its `account_id`,
the lead itself included, as a company engagement score sums all its contacts) and only
what was known at the lead's own `as_of`: contacts created before it, touches known strictly
before it (a touch is known from its own time or, logged before its contact existed, from
the contact's creation), with the weights and half-life of `features.interest`.

Why merged sorts and no pairwise join: each per-lead answer is "over the items of
my account (or account and role) that happened before my snapshot". Putting the items and
the snapshots in one array sorted by (account, time), with snapshots first on ties, turns
each into a running sum read at the snapshot's position, so the cost is one sort however
many contacts an account has, never contacts x contacts.

Why log space for the decayed sum: a running sum of `w * 2**(t / h)` overflows over long
spans and loses the small terms to cancellation between accounts; a running `logaddexp`
with each account lifted far above the one before keeps every account's sum separate and
accurate to about 1e-7.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from data_contracts.vocab import ABM_TIERS, BUYING_ROLES, EVENT_TYPES, HIGH_INTENT_EVENT_TYPES
from features._table import make_frame, n_rows
from features._time import NAT, US_PER_DAY, epoch_us
from features.account_sets import (
    ACCOUNT_FIT_V1,
    ACCOUNT_INTEREST_V1,
    ENGAGED_DAYS,
    GROUP_ROLES,
    NO_TIER,
    engaged_role_column,
)
from features.feature_sets import DEFAULT_HALF_LIFE_DAYS, ENGAGEMENT_TYPES
from features.interest import as_of_array, positions_in, weights
from features.roles import RolePolicy

Columns = dict[str, Any]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_R = len(BUYING_ROLES)
_IS_ENGAGEMENT = np.isin(np.array(EVENT_TYPES), ENGAGEMENT_TYPES)
_IS_HIGH = np.isin(np.array(EVENT_TYPES), HIGH_INTENT_EVENT_TYPES)
_TYPE_INDEX = pd.Index(EVENT_TYPES)
_TIER_DTYPE = pd.CategoricalDtype([*ABM_TIERS, NO_TIER])
_NO_TIER_CODE = len(ABM_TIERS)
# How far (in natural-log units) each account's running sum sits above the one before.
_LIFT_MARGIN = 800.0


def _order(seg: I64, t: I64, n_q: int) -> I64:
    """The sort order by (segment, time, snapshot before item) as one int64 key argsorted.

    Why not `np.lexsort`: three stable passes cost about three times one quicksort here. The
    times are replaced by their rank (one `np.unique`), so segment x rank fits in an int64.
    """
    if not len(seg):
        return np.zeros(0, dtype=np.int64)
    _, rank = np.unique(t, return_inverse=True)
    kind = np.ones(len(seg), dtype=np.int64)
    kind[:n_q] = 0
    key = (seg - seg.min()) * (2 * int(rank.max()) + 2) + 2 * rank.astype(np.int64) + kind
    return np.asarray(np.argsort(key), dtype=np.int64)


class _Merged:
    """Snapshots and items of the same segments in one array sorted by (segment, time),
    snapshots before items at equal times (an item exactly at the snapshot is not seen)."""

    def __init__(self, seg_q: I64, t_q: I64, seg_x: I64, t_x: I64) -> None:
        seg = np.concatenate([seg_q, seg_x])
        t = np.concatenate([t_q, t_x])
        self.order = _order(seg, t, len(seg_q))
        self.n_q = len(seg_q)
        self.seg = seg[self.order]
        self.t = t[self.order]
        starts = np.flatnonzero(np.r_[True, self.seg[1:] != self.seg[:-1]][: len(seg)])
        sizes = np.diff(np.r_[starts, len(seg)]).astype(np.int64)
        self.first = np.repeat(starts.astype(np.int64), sizes)
        self.where_q = np.empty(self.n_q, dtype=np.int64)  # sorted position of each snapshot
        is_q = self.order < self.n_q
        self.where_q[self.order[is_q]] = np.flatnonzero(is_q)

    def item_values(self, values: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
        """Per sorted position: the item's value, `fill` at snapshots."""
        full = np.concatenate([np.full(self.n_q, fill, dtype=values.dtype), values])
        return full[self.order]

    def count_before(self, values: I64) -> I64:
        """Per snapshot: the sum of integer item values of its segment before it."""
        v = self.item_values(values, 0)
        c = np.cumsum(v)
        return np.asarray((c - (c - v)[self.first])[self.where_q], dtype=np.int64)


def _decayed_before(
    seg_q: I64,
    t_q: I64,
    seg_x: I64,
    lead_x: I64,
    t_x: I64,
    w_x: F64,
    half_life_days: float,
    seen_x: I64,
) -> tuple[F64, F64]:
    """Per snapshot, over its segment's items known before it (`seen_x`): the sum of
    `w * 2**-(age / half-life)` (age from the item's own time `t_x`), and the largest such
    sum of any one contact (`lead_x`).

    Why the largest needs no contacts x contacts: at one moment every contact's sum is its
    sum of `w * 2**(t / h)` times the same `2**(-T / h)`, so the most engaged contact is the
    one with the largest undecayed sum; with positive weights that sum only grows, so the
    best contact at T is the running maximum, over the segment's items before T, of each
    item's contact's sum just after it (`_contact_sums`). Both read one merged sort.
    """
    total, best = np.zeros(len(seg_q)), np.zeros(len(seg_q))
    keep = w_x > 0
    if not keep.any() or not len(seg_q):
        return total, best
    seg_x, lead_x, t_x, w_x, seen_x = seg_x[keep], lead_x[keep], t_x[keep], w_x[keep], seen_x[keep]
    rate = np.log(2.0) / (half_life_days * US_PER_DAY)
    t0 = min(int(t_x.min()), int(t_q.min()))
    span = (max(int(t_x.max()), int(t_q.max())) - t0) * rate
    log_w = np.log(w_x)
    lift = span + _LIFT_MARGIN + float(log_w.max() - log_w.min())
    x = (t_x - t0) * rate + log_w
    m = _Merged(seg_q, t_q, seg_x, seen_x)  # in the order they became known
    decay = (t_q - t0) * rate
    level = np.logaddexp.accumulate(m.item_values(x + seg_x * lift, -np.inf))[m.where_q]
    level -= seg_q * lift
    seen = level > float(log_w.min()) - _LIFT_MARGIN / 2
    total[seen] = np.exp(level[seen] - decay[seen])
    own = _contact_sums(x, lead_x, seen_x, lift)
    # A contact's sum lies within [min x, max x + log n]: lifting by more keeps accounts apart.
    gap = float(own.max() - x.min()) + _LIFT_MARGIN
    top = np.maximum.accumulate(m.item_values(own + seg_x * gap, -np.inf))[m.where_q]
    top -= seg_q * gap
    seen = top >= float(x.min()) - _LIFT_MARGIN / 2
    best[seen] = np.exp(top[seen] - decay[seen])
    return total, best


def _contact_sums(x: F64, lead_x: I64, t_x: I64, lift: float) -> F64:
    """Per item: log of its contact's sum of `exp(x)` over its items up to this one (in the
    order of `t_x`), a running `logaddexp` with each contact lifted above the one before."""
    order = _order(lead_x, t_x, 0)
    own = np.empty(len(x))
    lifted = lead_x[order] * lift
    own[order] = np.logaddexp.accumulate(x[order] + lifted) - lifted
    return own


def _last_before(seg_q: I64, t_q: I64, seg_x: I64, t_x: I64, seen_x: I64) -> F64:
    """Per snapshot: days since the latest item (by its time `t_x`) of its segment known
    before it (`seen_x`); NaN when none. A running maximum within each segment, as an item
    known late may be older than one known before it."""
    m = _Merged(seg_q, t_q, seg_x, seen_x)
    times = m.item_values(t_x, NAT)
    latest = pd.Series(times).groupby(m.seg).cummax().to_numpy()[m.where_q]
    out = np.full(len(seg_q), np.nan)
    ok = latest != NAT
    out[ok] = (t_q[ok] - latest[ok]) / US_PER_DAY
    return out


def _engaged_runs(lead: I64, t: I64) -> tuple[I64, I64, I64]:
    """Each contact's engagement as runs of touches no more than `ENGAGED_DAYS` apart: the
    contact is engaged at T exactly when some run has start < T <= end + ENGAGED_DAYS."""
    window = int(ENGAGED_DAYS * US_PER_DAY)
    if not len(t):
        return lead, t, t
    order = _order(lead, t, 0)
    lead, t = lead[order], t[order]
    starts = np.flatnonzero(np.r_[True, (lead[1:] != lead[:-1]) | (t[1:] - t[:-1] > window)])
    ends = np.r_[starts[1:], len(t)] - 1
    return lead[starts], t[starts], t[ends] + window


def account_codes(leads: pd.DataFrame, accounts: pd.DataFrame | None) -> I64:
    """Row of each lead's account in `accounts` (-1: no account or none in the table)."""
    if accounts is None or "account_id" not in leads.columns:
        return np.full(len(leads), -1, dtype=np.int64)
    index = pd.Index(accounts["account_id"].astype(object))
    return np.asarray(index.get_indexer(leads["account_id"].astype(object)), dtype=np.int64)


def _per_account(accounts: pd.DataFrame, name: str) -> npt.NDArray[Any] | None:
    """One column of the accounts table as an object array (None when it has no such column)."""
    return accounts[name].to_numpy(dtype=object) if name in accounts.columns else None


def account_fit_arrays(code: I64, accounts: pd.DataFrame | None) -> Columns:
    """The `ACCOUNT_FIT_V1` columns for leads whose accounts are rows `code` of `accounts`.

    Each value is worked out once per account, then taken per lead: an API request pays for
    its one account, a batch for its accounts, not its leads, and a request whose leads have
    no account pays for constants only.
    """
    n = len(code)
    known = code >= 0
    cols: Columns = {
        "acct_known": known.astype(np.int8),
        "acct_log_employees": np.full(n, np.nan),
        "acct_log_revenue": np.full(n, np.nan),
        "acct_is_named": np.zeros(n, dtype=np.int8),
        "acct_is_business_unit": np.zeros(n, dtype=np.int8),
    }
    tier_code = np.full(n, -1, dtype=np.int64)
    if accounts is not None and len(accounts) and known.any():
        at = code[known]
        emp = pd.to_numeric(pd.Series(_per_account(accounts, "employees")), errors="coerce")
        rev = pd.to_numeric(pd.Series(_per_account(accounts, "annual_revenue")), errors="coerce")
        emp_v = emp.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_emp = np.where(emp_v > 0, np.log10(emp_v), np.nan)
        log_rev = np.log10(1.0 + rev.to_numpy(dtype=float, na_value=np.nan).clip(min=0))
        cols["acct_log_employees"][known] = log_emp[at] if len(emp) else np.nan
        cols["acct_log_revenue"][known] = log_rev[at] if len(rev) else np.nan
        named = _per_account(accounts, "is_named_account")
        if named is not None:
            cols["acct_is_named"][known] = (named == True)[at]  # noqa: E712
        parent = _per_account(accounts, "parent_account_id")
        if parent is not None:
            cols["acct_is_business_unit"][known] = pd.notna(parent)[at]
        tiers = _per_account(accounts, "abm_tier")
        if tiers is None:
            tier_code[known] = _NO_TIER_CODE
        else:
            found = _TIER_DTYPE.categories.get_indexer(pd.Index(tiers))
            by_account = np.asarray(found, dtype=np.int64)
            by_account[pd.isna(tiers)] = _NO_TIER_CODE
            tier_code[known] = by_account[at]
    cols["acct_abm_tier"] = pd.Categorical.from_codes(tier_code, dtype=_TIER_DTYPE)
    return {name: cols[name] for name in ACCOUNT_FIT_V1.columns}


def account_interest_arrays(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    code: I64,
    as_of_us: I64,
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    type_weights: Mapping[str, float] | None = None,
    roles: RolePolicy | None = None,
    query_code: I64 | None = None,
) -> Columns:
    """The `ACCOUNT_INTEREST_V1` columns, one row per lead of `leads` (rows of accounts
    `code`), each seen as of its own `as_of_us`; the contacts are the rows of `leads`.

    `query_code`: the account row of each answer when the answers are not the contacts
    (the API's leads, each seen with the colleagues its request sent), one per `as_of_us`.
    """
    query = code if query_code is None else query_code
    q = np.flatnonzero(query >= 0)
    found = (
        account_interest_at(
            leads,
            events,
            code,
            query[q],
            as_of_us[q],
            half_life_days=half_life_days,
            type_weights=type_weights,
            roles=roles,
        )
        if len(q)
        else {}  # no lead has an account (the API's lone leads): nothing to sort
    )
    cols: Columns = {}
    for spec in ACCOUNT_INTEREST_V1.features:
        fill = np.nan if spec.display == "days" else 0  # no account: nothing engaged
        full = np.full(len(query), fill, dtype=spec.dtype)
        if len(q):
            full[q] = found[spec.name]
        cols[spec.name] = full
    return cols


def account_interest_at(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    code: I64,
    seg_q: I64,
    t_q: I64,
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    type_weights: Mapping[str, float] | None = None,
    roles: RolePolicy | None = None,
) -> Columns:
    """The `ACCOUNT_INTEREST_V1` columns of account rows `seg_q`, each as of `t_q` (µs):
    one row per query. `code`: each contact's (row of `leads`) account row, -1 for none.
    The lead features ask once per lead at its snapshot; the account model per account and
    moment."""
    out: Columns = {}
    created = epoch_us(leads["created_at"]) if "created_at" in leads.columns else None
    if created is not None:
        has = (code >= 0) & (created != NAT)
        m = _Merged(seg_q, t_q, code[has], created[has])
        out["acct_contacts"] = m.count_before(np.ones(int(has.sum()), dtype=np.int64))
    else:
        out["acct_contacts"] = np.zeros(len(seg_q), dtype=np.int64)

    if n_rows(events):
        lead = positions_in(events["lead_id"], pd.Index(leads["lead_id"]))
        etype = positions_in(events["type"], _TYPE_INDEX)
        t = epoch_us(events["occurred_at"])
        ok = (lead >= 0) & (etype >= 0) & (t != NAT)
        ok[ok] &= code[lead[ok]] >= 0
        lead, etype, t = lead[ok], etype[ok], t[ok]
    else:
        lead = etype = t = np.zeros(0, dtype=np.int64)
    seg_e = code[lead]
    # A colleague's touches logged before it was created (web visits matched to it on sign-up)
    # are known from its creation: a snapshot before that must not see them.
    born = created[lead] if created is not None else np.full(len(lead), NAT, dtype=np.int64)
    seen = np.maximum(t, born)

    w = np.fromiter(weights(type_weights).values(), dtype=np.float64, count=len(EVENT_TYPES))
    out["acct_engagement_decayed"], out["acct_engagement_max_contact"] = _decayed_before(
        seg_q, t_q, seg_e, lead, t, w[etype], half_life_days, seen
    )

    role = (roles or RolePolicy()).codes(leads)
    eng = _IS_ENGAGEMENT[etype]
    run_lead, start, end = _engaged_runs(lead[eng], t[eng])
    if created is not None:  # engaged from when the run was known, until it lapses
        start = np.maximum(start, created[run_lead])
        shown = start < end
        run_lead, start, end = run_lead[shown], start[shown], end[shown]
    run_seg = code[run_lead] * _R + role[run_lead]
    signs = np.r_[np.ones(len(start), np.int64), -np.ones(len(end), np.int64)]
    # One query per (snapshot, role), all in one merged sort: segment account * R + role.
    seg_qr = (seg_q[:, None] * _R + np.arange(_R)[None, :]).ravel()
    m = _Merged(
        seg_qr, np.repeat(t_q, _R), np.r_[run_seg, run_seg], np.r_[start, end].astype(np.int64)
    )
    by_role = m.count_before(signs).reshape(len(seg_q), _R)
    out["acct_engaged_contacts"] = by_role.sum(axis=1)
    for r_name in GROUP_ROLES:
        out[engaged_role_column(r_name)] = by_role[:, BUYING_ROLES.index(r_name)]
    group = [BUYING_ROLES.index(r) for r in GROUP_ROLES]
    out["acct_roles_covered"] = (by_role[:, group] > 0).sum(axis=1)

    high = _IS_HIGH[etype]
    out["acct_days_since_last_high_intent"] = _last_before(
        seg_q, t_q, seg_e[high], t[high], seen[high]
    )
    return {
        spec.name: np.asarray(out[spec.name], dtype=spec.dtype)
        for spec in ACCOUNT_INTEREST_V1.features
    }


def account_features(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    accounts: pd.DataFrame | None,
    as_of: Any,
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    type_weights: Mapping[str, float] | None = None,
    roles: RolePolicy | None = None,
) -> pd.DataFrame:
    """Account fit and interest features by `lead_id` (the order of `leads`), as of `as_of`
    (a Series of UTC timestamps by lead_id, one Timestamp, or None for now).

    A lead without an account (or data without an accounts table) gets `acct_known` 0,
    missing firmographics and zero engagement: it scores as a lead alone.
    """
    ids = pd.Index(leads["lead_id"].to_numpy(), name="lead_id")
    code = account_codes(leads, accounts)
    cols = account_fit_arrays(code, accounts)
    cols.update(
        account_interest_arrays(
            leads,
            events,
            code,
            as_of_array(as_of, ids),
            half_life_days=half_life_days,
            type_weights=type_weights,
            roles=roles,
        )
    )
    return make_frame(cols, ids)
