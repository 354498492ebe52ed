"""The `accounts` contract table from a mapped export's account table (`[accounts]`).

Every row of the account table is one account, joined by a lead or not: an account with no
lead yet is still an account a BDR may work, and a lead pointing at an account the table
lacks is validation's row-level failure (`cross_table.lead_account_failures`), never a
silent drop here. Values stay text for the contract to check, as for leads; each row keeps
its export file and row (`RowOrigin`), so a failure names `Account.csv` row 12, column
`Website`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.crm_data import ACCOUNTS, RowOrigin
from data_contracts.cross_table import domain_key
from data_contracts.mapping_apply import Export, mapped
from data_contracts.schemas import OPTIONAL_COLUMNS, SCHEMAS

# A scheme (`https://`), and anything after the host (`/path`, `?query`, `#part`, `:port`).
_SCHEME = r"^[a-z][a-z0-9+.-]*://"
_AFTER_HOST = r"[/?#:].*$"


def web_domain(values: pd.Series) -> pd.Series:
    """Each value's web domain: a URL (`https://www.Acme.com/about`) read as its host
    (`acme.com`), compared and written as the duplicate-domain rule compares them."""
    text = pa.array(values.astype(object).where(values.notna(), None), type=pa.large_string())
    text = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    host = pc.replace_substring_regex(
        pc.replace_substring_regex(text, pattern=_SCHEME, replacement=""),
        pattern=_AFTER_HOST,
        replacement="",
    )
    out = pd.Series(domain_key(pd.Series(host.to_pylist(), dtype="str")).to_pylist(), dtype=object)
    return out.where(out.notna() & (out != ""), None)


def accounts_table(export: Export) -> tuple[pd.DataFrame, RowOrigin] | None:
    """The accounts of `[accounts]` with each row's origin; None when the mapping has none."""
    rule = export.mapping.accounts
    if rule is None:
        return None
    table = export.tables[rule.table]
    n = len(table)
    raw = export.column(rule.table, rule.id_column, "accounts.id").reset_index(drop=True)
    out: dict[str, Any] = {"account_id": raw.astype(object).where(raw.notna(), None)}
    origin = {"account_id": rule.id_column}
    for name in SCHEMAS[ACCOUNTS].columns:
        if name == "account_id":
            continue
        value_rule = rule.columns.get(name)
        if value_rule is None:  # declared absent
            if name not in OPTIONAL_COLUMNS[ACCOUNTS]:
                out[name] = pd.Series([None] * n, dtype=object)
            continue
        values = None
        if value_rule.column:
            key = f"accounts.columns.{name}.from"
            values = export.column(rule.table, value_rule.column, key).reset_index(drop=True)
            origin[name] = value_rule.column
        out[name] = mapped(values, value_rule, n)
        if name == "domain":
            out[name] = web_domain(out[name])
    export.report.table(rule.table).made[ACCOUNTS] += n
    where = RowOrigin(
        sources=tuple((file, origin) for file in table.files),
        source=table.file_code,
        row=table.row,
    )
    return pd.DataFrame(out), where
