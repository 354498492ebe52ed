"""The accounts file `handoff score` writes beside the leads file: one row per account of
the folder, scored by the account champion as of the same moment as the leads.

Written only when the folder has an accounts table and an account champion serves; the
summary says which of the two was missing otherwise. The contacts are the folder's
contract-valid leads and events, as for the leads file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from serving.settings import ServingSettings

ACCOUNT_OUTPUT_COLUMNS: tuple[str, ...] = (
    "account_id",
    "fit_score",
    "interest_score",
    "combined_score",
    "combined_probability",
    "quadrant",
    "action",
    "contacts",
    "engaged_contacts",
    "roles_covered",
    "missing_roles",
    "group_text",
    "combined_reason_text",
    "model_version",
    "as_of",
)


def accounts_output(out: Path) -> Path:
    """Where the accounts file goes beside the leads file `out` (`scores.parquet` ->
    `scores_accounts.parquet`)."""
    return out.with_name(f"{out.stem}_accounts{out.suffix}")


def score_accounts_file(
    accounts: pd.DataFrame | None,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    *,
    settings: ServingSettings,
    when: pd.Timestamp,
    out: Path,
) -> str:
    """Write the accounts file beside `out` and say so, or say why it was not written."""
    if accounts is None:
        return "accounts: the folder has no accounts table; no accounts file written"
    # Here, not at the top: the champion's code (MLflow, LightGBM) loads after --out is checked.
    from serving.account_scoring import account_holder, account_model

    holder = account_holder(settings)
    holder.refresh()
    champion = holder.current
    if champion is None:
        return f"accounts: not scored ({holder.reason})"
    stamps = np.full(len(accounts), when.value // 1000, dtype=np.int64)
    scored = account_model(champion).score_accounts(leads, events, accounts, stamps)
    flat = scored.reset_index().assign(model_version=champion.version, as_of=when)
    flat = flat[list(ACCOUNT_OUTPUT_COLUMNS)]
    path = accounts_output(out)
    tmp = path.with_name(path.name + ".partial")
    try:
        if path.suffix == ".parquet":
            flat.to_parquet(tmp, index=False)
        else:
            flat.to_csv(tmp, index=False)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    counts = flat["quadrant"].value_counts()
    parts = ", ".join(f"{q} {int(n)}" for q, n in counts.items())
    return (
        f"scored {len(flat)} accounts with account model version {champion.version} -> "
        f"{path}\naccount quadrants: {parts}"
    )
