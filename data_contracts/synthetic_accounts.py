"""Synthetic accounts: the generator's company universe as the contract's `accounts` table.

Part of `data_contracts.synthetic`. The firmographics are the companies' true ones (the
leads show them with gaps); the ABM tier, hierarchy and owner are drawn from their own
random stream, so adding them leaves every lead, event and outcome draw as it was.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from data_contracts.synthetic_leads import COUNTRIES, INDUSTRY_NAMES, Companies
from data_contracts.vocab import (
    ABM_TIERS,
    BUYING_ROLES,
    DEFAULT_ROLE_RULES,
    ENGAGED_DAYS,
    FUNCTIONS,
    SENIORITIES,
)

# A fixed spawn key: the accounts' stream is the same whatever the number of chunks.
ACCOUNT_STREAM = 17_000
TIER_SHARE = (0.2, 0.3, 0.5)  # of named accounts, tier_1 first
PARENT_SHARE = 0.04  # accounts that are a business unit of a larger account
BUSINESS_UNITS: tuple[str, ...] = ("EMEA", "Americas", "APAC", "Public Sector", "SMB")
OWNERS: tuple[str, ...] = tuple(
    f"{first} {last}"
    for first, last in zip(
        ["Alex", "Sam", "Jordan", "Robin", "Kim", "Taylor", "Morgan", "Casey", "Jamie", "Riley"],
        [
            "Berg",
            "Novak",
            "Okafor",
            "Lindqvist",
            "Moreau",
            "Tanaka",
            "Silva",
            "Keller",
            "Haas",
            "Duarte",
        ],
        strict=True,
    )
)


def account_ids(company: np.ndarray, n_companies: int) -> pa.Array:
    """The account key of each company index (`A000001` for the first)."""
    width = max(6, len(str(n_companies)))
    return pa.array([f"A{k + 1:0{width}d}" for k in company.tolist()], type=pa.string())


def accounts_table(companies: Companies, seed: int) -> pa.Table:
    """Every company as one contract `accounts` row."""
    n = len(companies.industry)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(ACCOUNT_STREAM,)))
    k = np.arange(n)
    tier = rng.choice(len(ABM_TIERS), size=n, p=np.array(TIER_SHARE))
    # A unit hangs under a bigger account (any other one; the hierarchy is only one deep).
    is_unit = (rng.random(n) < PARENT_SHARE) & ~companies.named
    big = np.flatnonzero(companies.employees >= np.quantile(companies.employees, 0.9))
    parent = big[rng.integers(0, len(big), n)] if len(big) else k
    is_unit &= (parent != k) & ~is_unit[parent]
    owner = rng.integers(0, len(OWNERS), n)
    return pa.table(
        {
            "account_id": account_ids(k, n),
            "name": companies.name,
            "domain": companies.domain,
            "industry": pa.array(INDUSTRY_NAMES).take(pa.array(companies.industry)),
            "employees": pa.array(companies.employees.astype(np.int64)),
            "annual_revenue": pa.array(np.round(companies.revenue, -3)),
            "country": pa.array([c[0] for c in COUNTRIES]).take(pa.array(companies.country)),
            "is_named_account": pa.array(companies.named),
            "abm_tier": pa.array(
                [ABM_TIERS[t] for t in tier.tolist()], mask=~companies.named, type=pa.string()
            ),
            "parent_account_id": pa.array(
                account_ids(parent, n).to_pylist(), mask=~is_unit, type=pa.string()
            ),
            "business_unit": pa.array(
                [BUSINESS_UNITS[i % len(BUSINESS_UNITS)] for i in k.tolist()],
                mask=~is_unit,
                type=pa.string(),
            ),
            "owner": pa.array(
                [OWNERS[i] for i in owner.tolist()], mask=rng.random(n) < 0.1, type=pa.string()
            ),
        }
    )


def true_roles(seniority: np.ndarray, function: np.ndarray) -> np.ndarray:
    """Each lead's buying role (index into `BUYING_ROLES`) from its true persona, by the
    shipped rules (`vocab.DEFAULT_ROLE_RULES`)."""
    role = np.full(len(seniority), -1, dtype=np.int64)
    for name, seniorities, functions in DEFAULT_ROLE_RULES:
        hit = role < 0
        if seniorities:
            hit &= np.isin(seniority, [SENIORITIES.index(s) for s in seniorities])
        if functions:
            hit &= np.isin(function, [FUNCTIONS.index(f) for f in functions])
        role[hit] = BUYING_ROLES.index(name)
    role[role < 0] = BUYING_ROLES.index("unknown")
    return role


def roles_covered(
    company: np.ndarray,
    role: np.ndarray,
    snap_us: np.ndarray,
    event_lead: np.ndarray,
    event_t: np.ndarray,
    window_days: int = ENGAGED_DAYS,
) -> np.ndarray:
    """Per lead: how many buying-group roles (all but unknown) its company had a contact of,
    among the chunk's leads, touching it in the `window_days` before the lead's snapshot.

    The truth sees colleagues of the same chunk only (a chunk spans weeks of creation
    times); the account features see every colleague, so they estimate it, not copy it.
    """
    n_roles = len(BUYING_ROLES)
    group = [BUYING_ROLES.index(r) for r in BUYING_ROLES if r != "unknown"]
    sec = event_t // 1_000_000
    snap = snap_us // 1_000_000
    origin = min(int(sec.min(initial=snap.min())), int(snap.min())) - window_days * 86_400
    span = max(int(sec.max(initial=snap.max())), int(snap.max())) - origin + 1
    key = np.sort((company[event_lead] * n_roles + role[event_lead]) * span + (sec - origin))
    covered = np.zeros(len(snap_us), dtype=np.int64)
    for r in group:
        base = (company * n_roles + r) * span
        lo = np.searchsorted(key, base + snap - window_days * 86_400 - origin, side="left")
        hi = np.searchsorted(key, base + snap - origin, side="left")
        covered += hi > lo
    return covered
