"""Synthetic accounts: the generator's company universe as the contract's `accounts` table.

Part of `data_contracts.synthetic`. The firmographics are the companies' true ones (the
leads show them with gaps); the ABM tier, hierarchy and owner are drawn from their own
random stream, so adding them leaves every lead, event and outcome draw as it was.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from data_contracts.synthetic_leads import COUNTRIES, INDUSTRY_NAMES, Companies
from data_contracts.vocab import ABM_TIERS

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
