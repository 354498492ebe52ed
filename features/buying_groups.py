"""What a role policy makes of the data: leads per buying-group role, and how many roles each
account's engaged contacts cover as of one moment.

Marketing and the BDRs agree on the role policy (`features.roles`); before it drives the
account features, they need to see what it does to their own data. `handoff validate
--role-policy FILE` prints this beside the contract report, with the default policy or
theirs, so two policies can be compared on the same export.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_contracts.vocab import BUYING_ROLE_WORDS, BUYING_ROLES
from features._time import epoch_us
from features.account_sets import GROUP_ROLES
from features.accounts import account_codes, account_interest_at
from features.roles import RolePolicy


@dataclass(frozen=True)
class BuyingGroups:
    """Leads per role (every role, zeros kept), and with accounts: the accounts by number of
    roles their engaged contacts cover at `as_of` (0 to all of `GROUP_ROLES`)."""

    leads_per_role: dict[str, int]
    accounts_by_roles_covered: dict[int, int] | None
    as_of: pd.Timestamp | None
    policy: str

    def text(self) -> str:
        n = sum(self.leads_per_role.values())
        lines = [f"Buying-group roles ({self.policy}), {n:,} leads:"]
        for role, count in self.leads_per_role.items():
            share = count / n if n else 0.0
            lines.append(f"  {BUYING_ROLE_WORDS[role]:<24} {count:>9,} {share:>6.1%}")
        if self.accounts_by_roles_covered is not None and self.as_of is not None:
            lines.append(
                f"Accounts by roles their engaged contacts cover, as of {self.as_of:%Y-%m-%d}:"
            )
            for k, count in self.accounts_by_roles_covered.items():
                lines.append(f"  {k} of {len(GROUP_ROLES)} roles {count:>9,}")
        return "\n".join(lines)


def buying_groups(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    accounts: pd.DataFrame | None,
    as_of: pd.Timestamp,
    *,
    roles: RolePolicy | None = None,
    policy: str = "default policy",
) -> BuyingGroups:
    """Roles by `roles` (default: the shipped policy); with `accounts`, every account's roles
    covered at `as_of` as the account features count them (events strictly before it)."""
    assigned = (roles or RolePolicy()).assign(leads)
    counts = assigned.value_counts()
    per_role = {r: int(counts.get(r, 0)) for r in BUYING_ROLES}
    if accounts is None:
        return BuyingGroups(per_role, None, None, policy)
    code = account_codes(leads, accounts)
    seg = np.arange(len(accounts), dtype=np.int64)
    t = np.repeat(epoch_us(pd.Series([pd.Timestamp(as_of)])), len(seg))
    found = account_interest_at(leads, events, code, seg, t, roles=roles)
    covered = np.bincount(found["acct_roles_covered"], minlength=len(GROUP_ROLES) + 1)
    return BuyingGroups(per_role, {k: int(c) for k, c in enumerate(covered)}, as_of, policy)
