"""Rules that need more than one table, or more than one row of a lead's history.

Single-row rules live on the pandera models in `schemas.py`. Each rule here returns
failure rows shaped like `validate.FAILURE_COLUMNS` (`file, row, column, check, value`),
with `file` the table name and `row` the frame's index label: `validate` keeps that index
equal to the 0-based row number in the source file, so reports point back at the file.
Frames are expected typed (timestamps as `datetime64[us, UTC]`), as after single-table
validation; rules are vectorised so they run on millions of rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.vocab import RATED_STAGES, STAGE_RANK, STAGES

FAILURE_COLUMNS: tuple[str, ...] = ("file", "row", "column", "check", "value")

UNKNOWN_LEAD = "{kind} for unknown lead"
WON_AND_LOST = "won and lost"
BACKWARDS = "stage time runs backwards"
BEFORE_CREATED = "outcome before lead created_at"
REJECT_REASON_MISPLACED = "reject_reason only on sales_rejected"
RATING_MISPLACED = "meeting_rating only on " + ", ".join(RATED_STAGES)
DUPLICATE_STAGE = "duplicate (lead_id, stage)"
UNKNOWN_ACCOUNT = "{kind} for unknown account"
DUPLICATE_DOMAIN = "duplicate domain"
COMPANY_NOT_ACCOUNT = "company disagrees with its account's name"
ACCOUNT_QUARANTINED = "account quarantined"


def empty_failures() -> pd.DataFrame:
    """An empty failure frame with the right columns, so concatenation keeps its shape."""
    return pd.DataFrame({col: pd.Series(dtype=object) for col in FAILURE_COLUMNS})


def joined_failures(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The rules' failures in one frame (the empty ones left out, as concat would warn)."""
    found = [p for p in parts if not p.empty]
    return pd.concat(found, ignore_index=True) if found else empty_failures()


def failures_for(
    table: str, frame: pd.DataFrame, mask: pd.Series | np.ndarray, column: str, check: str
) -> pd.DataFrame:
    """One failure row per masked row of `frame`, carrying that row's `column` value."""
    where = np.flatnonzero(np.asarray(mask, dtype=bool))
    if len(where) == 0:
        return empty_failures()
    return pd.DataFrame(
        {
            "file": table,
            "row": frame.index[where].to_numpy(dtype=object),
            "column": column,
            "check": check,
            "value": _as_text(frame[column].iloc[where]).to_numpy(dtype=object),
        }
    )


def _as_text(values: pd.Series) -> pd.Series:
    """Values as readable strings (ISO for timestamps), `None` for missing."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        text = values.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    else:
        text = values.astype(object).map(str)
    return text.astype(object).where(values.notna(), None)


def _arrow_text(values: Iterable[object]) -> pa.Array | pa.ChunkedArray:
    """Values as an Arrow large_string array (zero-copy for pandas' Arrow-backed strings)."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        values = pa.array(values).cast(pa.large_string())  # decode the dictionary in C
    elif isinstance(values, pd.Series) and not pd.api.types.is_string_dtype(values.dtype):
        values = values.astype("str")
    elif not isinstance(values, pd.Series | pa.Array | pa.ChunkedArray):
        values = pd.Series(list(values), dtype="str")
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


def isin(values: pd.Series, allowed: Iterable[object]) -> np.ndarray:
    """`values.isin(allowed)` for many string ids: Arrow's hash lookup, ~10x pandas' here."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    found = pc.is_in(_arrow_text(values), value_set=_arrow_text(allowed))
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position of each value in `keys` (first match), -1 where absent, by Arrow hashing."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    found = pc.index_in(_arrow_text(values), value_set=_arrow_text(keys))
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def orphans(
    child: pd.DataFrame, table: str, known_lead_ids: Iterable[str], kind: str
) -> pd.DataFrame:
    """Rows of `child` whose lead_id is not a lead at all: features and labels can't join them."""
    mask = child["lead_id"].notna().to_numpy() & ~isin(child["lead_id"], known_lead_ids)
    return failures_for(table, child, mask, "lead_id", UNKNOWN_LEAD.format(kind=kind))


def won_and_lost(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Both closed rows of a lead recorded as won and lost: its label is unknowable."""
    closed = outcomes["stage"].isin(["closed_won", "closed_lost"])
    per_lead = outcomes.loc[closed].groupby("lead_id", sort=False)["stage"].nunique()
    both = per_lead.index[per_lead > 1]
    mask = closed & outcomes["lead_id"].isin(both)
    return failures_for("outcomes", outcomes, mask, "stage", WON_AND_LOST)


def outcome_codes(outcomes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Integer lead codes (-1 missing) and stage codes (index in `STAGES`, -1 unknown).

    Computed once and shared by the per-lead rules: hashing millions of strings is the
    expensive part, integer work afterwards is cheap.
    """
    lead, _ = pd.factorize(outcomes["lead_id"])
    stage = pc.index_in(_arrow_text(outcomes["stage"]), value_set=pa.array(list(STAGES)))
    return lead, np.asarray(stage.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _within_lead(
    values: np.ndarray, lead: np.ndarray, fill: float, step: int, op: Any
) -> np.ndarray:
    """For each group, `op` over the groups before it (step=1) or after it (step=-1) of its lead.

    Groups are sorted by lead then rank and a lead has at most one group per rank, so a
    loop over the few ranks replaces a slow segmented groupby.
    """
    out = np.full(len(values), fill)
    for k in range(1, len(set(STAGE_RANK.values()))):
        if k >= len(values):
            break
        if step == 1:
            same = lead[k:] == lead[:-k]
            out[k:] = np.where(same, op(out[k:], values[:-k]), out[k:])
        else:
            same = lead[:-k] == lead[k:]
            out[:-k] = np.where(same, op(out[:-k], values[k:]), out[:-k])
    return out


def stages_backwards(
    outcomes: pd.DataFrame, codes: tuple[np.ndarray, np.ndarray] | None = None
) -> pd.DataFrame:
    """Rows in a pair where a later lifecycle stage happened before an earlier one.

    Both rows of such a pair are reported, since either time may be the wrong one.
    Stages of equal rank (accepted/rejected, won/lost) are alternatives, not ordered.
    Works on integer codes with one sort, so millions of outcomes take about a second.
    """
    if outcomes.empty:
        return empty_failures()
    lead, stage = codes if codes is not None else outcome_codes(outcomes)
    rank = np.array([*(STAGE_RANK[s] for s in STAGES), -1])[stage]
    t = outcomes["occurred_at"]
    rows = np.flatnonzero((lead >= 0) & (rank >= 0) & t.notna().to_numpy())
    when = t.dt.tz_convert(None).to_numpy().astype("int64")[rows].astype("float64")
    lead, rank = lead[rows], rank[rows]
    order = np.lexsort((rank, lead))
    lead, rank, when = lead[order], rank[order], when[order]
    # One group per (lead, rank): its earliest and latest time.
    starts = np.flatnonzero(np.r_[True, (lead[1:] != lead[:-1]) | (rank[1:] != rank[:-1])])
    if len(starts) == 0:
        return empty_failures()
    g_lead = lead[starts]
    g_min = np.minimum.reduceat(when, starts)
    g_max = np.maximum.reduceat(when, starts)
    # Latest time over strictly lower ranks; earliest time over strictly higher ranks.
    prev_max = _within_lead(g_max, g_lead, -np.inf, 1, np.maximum)
    next_min = _within_lead(g_min, g_lead, np.inf, -1, np.minimum)
    sizes = np.diff(np.r_[starts, len(lead)])
    bad_sorted = (when < np.repeat(prev_max, sizes)) | (when > np.repeat(next_min, sizes))
    mask = np.zeros(len(outcomes), dtype=bool)
    mask[rows[order[bad_sorted]]] = True
    return failures_for("outcomes", outcomes, mask, "occurred_at", BACKWARDS)


def outcome_before_created(leads: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Outcomes dated before their lead existed: a clock or join error in the export."""
    at = positions(outcomes["lead_id"], leads["lead_id"])
    created = leads["created_at"].dt.tz_convert(None).to_numpy()
    occurred = outcomes["occurred_at"].dt.tz_convert(None).to_numpy()
    known = at >= 0
    mask = np.zeros(len(outcomes), dtype=bool)
    mask[known] = occurred[known] < created[at[known]]  # NaT compares False
    return failures_for("outcomes", outcomes, mask, "occurred_at", BEFORE_CREATED)


def reject_reason_misplaced(outcomes: pd.DataFrame) -> pd.DataFrame:
    """A reject reason on a stage other than sales_rejected is a mis-keyed row."""
    mask = outcomes["reject_reason"].notna() & (outcomes["stage"] != "sales_rejected")
    return failures_for("outcomes", outcomes, mask, "reject_reason", REJECT_REASON_MISPLACED)


def rating_misplaced(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Only the handover stages are rated by the AE; a rating elsewhere is a mis-keyed row."""
    mask = outcomes["meeting_rating"].notna() & ~outcomes["stage"].isin(RATED_STAGES)
    return failures_for("outcomes", outcomes, mask, "meeting_rating", RATING_MISPLACED)


def duplicate_stages(
    outcomes: pd.DataFrame, codes: tuple[np.ndarray, np.ndarray] | None = None
) -> pd.DataFrame:
    """A lead entering the same stage twice: which time is true can't be told, so both go."""
    lead, stage = codes if codes is not None else outcome_codes(outcomes)
    key = pd.Series(lead * (len(STAGES) + 1) + (stage + 1))
    mask = key.duplicated(keep=False).to_numpy() & (lead >= 0)
    return failures_for("outcomes", outcomes, mask, "stage", DUPLICATE_STAGE)


def cross_table_failures(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    known_lead_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Every cross-table failure; `known_lead_ids` (default: leads' ids) decides orphans."""
    known = leads["lead_id"].dropna() if known_lead_ids is None else known_lead_ids
    codes = outcome_codes(outcomes)
    parts = [
        orphans(events, "events", known, "event"),
        orphans(outcomes, "outcomes", known, "outcome"),
        won_and_lost(outcomes),
        stages_backwards(outcomes, codes),
        outcome_before_created(leads, outcomes),
        reject_reason_misplaced(outcomes),
        rating_misplaced(outcomes),
        duplicate_stages(outcomes, codes),
    ]
    return joined_failures(parts)


def domain_key(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A domain as compared for duplicates: lower case, no spaces, no `www.` prefix."""
    text = pc.utf8_lower(pc.utf8_trim_whitespace(_arrow_text(values)))
    return pc.replace_substring_regex(text, pattern=r"^www\.", replacement="")


def duplicate_domains(accounts: pd.DataFrame) -> pd.DataFrame:
    """Accounts sharing a web domain: the same company twice, so leads would split between
    them; every copy is reported, since which one the leads belong to can't be told."""
    if "domain" not in accounts.columns or accounts.empty:
        return empty_failures()
    key = pd.Series(domain_key(accounts["domain"]).to_pylist(), dtype=object)
    mask = key.duplicated(keep=False).to_numpy() & key.notna().to_numpy() & (key != "").to_numpy()
    return failures_for("accounts", accounts, mask, "domain", DUPLICATE_DOMAIN)


def unknown_parents(accounts: pd.DataFrame) -> pd.DataFrame:
    """A business unit whose parent account is not in the table: the hierarchy is broken."""
    if "parent_account_id" not in accounts.columns:
        return empty_failures()
    parent = accounts["parent_account_id"]
    mask = parent.notna().to_numpy() & ~isin(parent, accounts["account_id"].dropna())
    kind = "parent_account_id"
    return failures_for("accounts", accounts, mask, kind, UNKNOWN_ACCOUNT.format(kind=kind))


def account_rules(accounts: pd.DataFrame) -> pd.DataFrame:
    """The rules an accounts table must keep by itself, across its rows."""
    return joined_failures((duplicate_domains(accounts), unknown_parents(accounts)))


def _name_key(values: pd.Series) -> pd.Series:
    """A company name as compared with its account's: lower case, letters and digits only."""
    text = pc.replace_substring_regex(
        pc.utf8_lower(_arrow_text(values)), pattern=r"[^\pL\pN]+", replacement=""
    )
    return pd.Series(text.to_pylist(), index=values.index, dtype=object)


def company_disagrees(leads: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """Leads whose company is not their account's name (a wrong account link).

    Names agree when, letters and digits only, one starts with the other: "Acme" and
    "ACME Inc." agree, "Acme" and "Globex" do not. Either name missing is no disagreement.
    """
    if "company" not in leads.columns or "name" not in accounts.columns or leads.empty:
        return empty_failures()
    at = positions(leads["account_id"], accounts["account_id"])
    mine = leads["company"].notna().to_numpy() & (at >= 0)
    theirs = np.zeros(len(leads), dtype=bool)
    theirs[mine] = accounts["name"].notna().to_numpy()[at[mine]]
    rows = np.flatnonzero(mine & theirs)
    if not len(rows):
        return empty_failures()
    pairs = pd.DataFrame(
        {
            "lead": _name_key(leads["company"].iloc[rows]).to_numpy(),
            "account": _name_key(accounts["name"].iloc[at[rows]]).to_numpy(),
        }
    )
    # Few distinct (company, account) pairs however many leads: compare each once.
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(pairs))
    agree = np.array([a.startswith(b) or b.startswith(a) for a, b in uniques], dtype=bool)
    mask = np.zeros(len(leads), dtype=bool)
    mask[rows] = ~agree[codes]
    return failures_for("leads", leads, mask, "company", COMPANY_NOT_ACCOUNT)


def lead_account_failures(
    leads: pd.DataFrame, accounts: pd.DataFrame, quarantined_ids: Iterable[str] = ()
) -> pd.DataFrame:
    """Leads pointing at no account, at a quarantined one, or at one with another name.

    `accounts` are the accounts that passed; `quarantined_ids` those that did not, so a lead
    of a failing account is told why rather than called an orphan.
    """
    if "account_id" not in leads.columns:
        return empty_failures()
    ids = leads["account_id"]
    gone = list(quarantined_ids)
    held = ids.notna().to_numpy() & isin(ids, gone) if gone else np.zeros(len(ids), dtype=bool)
    unknown = ids.notna().to_numpy() & ~isin(ids, accounts["account_id"].dropna()) & ~held
    parts = [
        failures_for("leads", leads, held, "account_id", ACCOUNT_QUARANTINED),
        failures_for("leads", leads, unknown, "account_id", UNKNOWN_ACCOUNT.format(kind="lead")),
        company_disagrees(leads, accounts),
    ]
    return joined_failures(parts)
