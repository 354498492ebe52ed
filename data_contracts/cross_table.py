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

import numpy as np
import pandas as pd

from data_contracts.vocab import RATED_STAGES, STAGE_RANK

FAILURE_COLUMNS: tuple[str, ...] = ("file", "row", "column", "check", "value")

UNKNOWN_LEAD = "{kind} for unknown lead"
WON_AND_LOST = "won and lost"
BACKWARDS = "stage time runs backwards"
BEFORE_CREATED = "outcome before lead created_at"
REJECT_REASON_MISPLACED = "reject_reason only on sales_rejected"
RATING_MISPLACED = "meeting_rating only on " + ", ".join(RATED_STAGES)
DUPLICATE_STAGE = "duplicate (lead_id, stage)"


def empty_failures() -> pd.DataFrame:
    """An empty failure frame with the right columns, so concatenation keeps its shape."""
    return pd.DataFrame({col: pd.Series(dtype=object) for col in FAILURE_COLUMNS})


def failures_for(
    table: str, frame: pd.DataFrame, mask: pd.Series | np.ndarray, column: str, check: str
) -> pd.DataFrame:
    """One failure row per masked row of `frame`, carrying that row's `column` value."""
    hit = frame.loc[np.asarray(mask, dtype=bool)]
    if hit.empty:
        return empty_failures()
    return pd.DataFrame(
        {
            "file": table,
            "row": hit.index.to_numpy(dtype=object),
            "column": column,
            "check": check,
            "value": _as_text(hit[column]).to_numpy(dtype=object),
        }
    )


def _as_text(values: pd.Series) -> pd.Series:
    """Values as readable strings (ISO for timestamps), `None` for missing."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        text = values.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    else:
        text = values.astype(object).map(str)
    return text.astype(object).where(values.notna(), None)


def orphans(
    child: pd.DataFrame, table: str, known_lead_ids: Iterable[str], kind: str
) -> pd.DataFrame:
    """Rows of `child` whose lead_id is not a lead at all: features and labels can't join them."""
    known = pd.Index(pd.unique(pd.Series(list(known_lead_ids), dtype=object)))
    mask = child["lead_id"].notna() & ~child["lead_id"].isin(known)
    return failures_for(table, child, mask, "lead_id", UNKNOWN_LEAD.format(kind=kind))


def won_and_lost(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Both closed rows of a lead recorded as won and lost: its label is unknowable."""
    closed = outcomes["stage"].isin(["closed_won", "closed_lost"])
    per_lead = outcomes.loc[closed].groupby("lead_id", sort=False)["stage"].nunique()
    both = per_lead.index[per_lead > 1]
    mask = closed & outcomes["lead_id"].isin(both)
    return failures_for("outcomes", outcomes, mask, "stage", WON_AND_LOST)


def stages_backwards(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Rows in a pair where a later lifecycle stage happened before an earlier one.

    Both rows of such a pair are reported, since either time may be the wrong one.
    Stages of equal rank (accepted/rejected, won/lost) are alternatives, not ordered.
    """
    frame = pd.DataFrame(
        {
            "lead_id": outcomes["lead_id"],
            "rank": outcomes["stage"].map(STAGE_RANK),
            "t": outcomes["occurred_at"],
        },
        index=outcomes.index,
    ).dropna()
    if frame.empty:
        return empty_failures()
    groups = frame.groupby(["lead_id", "rank"], sort=True)["t"].agg(["min", "max"]).reset_index()
    by_lead = groups.groupby("lead_id", sort=False)
    # Latest time over strictly lower ranks, and earliest over strictly higher ranks.
    groups["prev_max"] = by_lead["max"].cummax()
    groups["prev_max"] = groups.groupby("lead_id", sort=False)["prev_max"].shift(1)
    rev = groups.iloc[::-1]
    next_min = rev.groupby("lead_id", sort=False)["min"].cummin()
    groups["next_min"] = next_min.groupby(rev["lead_id"], sort=False).shift(1).iloc[::-1]
    keyed = frame.merge(
        groups[["lead_id", "rank", "prev_max", "next_min"]], on=["lead_id", "rank"], how="left"
    )
    keyed.index = frame.index
    bad = (keyed["t"] < keyed["prev_max"]) | (keyed["t"] > keyed["next_min"])
    mask = outcomes.index.isin(keyed.index[bad.fillna(False).to_numpy(dtype=bool)])
    return failures_for("outcomes", outcomes, mask, "occurred_at", BACKWARDS)


def outcome_before_created(leads: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Outcomes dated before their lead existed: a clock or join error in the export."""
    created = leads.drop_duplicates("lead_id").set_index("lead_id")["created_at"]
    when = outcomes["lead_id"].map(created)
    mask = (outcomes["occurred_at"] < when).fillna(False)
    return failures_for("outcomes", outcomes, mask, "occurred_at", BEFORE_CREATED)


def reject_reason_misplaced(outcomes: pd.DataFrame) -> pd.DataFrame:
    """A reject reason on a stage other than sales_rejected is a mis-keyed row."""
    mask = outcomes["reject_reason"].notna() & (outcomes["stage"] != "sales_rejected")
    return failures_for("outcomes", outcomes, mask, "reject_reason", REJECT_REASON_MISPLACED)


def rating_misplaced(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Only the handover stages are rated by the AE; a rating elsewhere is a mis-keyed row."""
    mask = outcomes["meeting_rating"].notna() & ~outcomes["stage"].isin(RATED_STAGES)
    return failures_for("outcomes", outcomes, mask, "meeting_rating", RATING_MISPLACED)


def duplicate_stages(outcomes: pd.DataFrame) -> pd.DataFrame:
    """A lead entering the same stage twice: which time is true can't be told, so both go."""
    mask = outcomes.duplicated(["lead_id", "stage"], keep=False) & outcomes["lead_id"].notna()
    return failures_for("outcomes", outcomes, mask, "stage", DUPLICATE_STAGE)


def cross_table_failures(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    known_lead_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Every cross-table failure; `known_lead_ids` (default: leads' ids) decides orphans."""
    known = leads["lead_id"].dropna() if known_lead_ids is None else known_lead_ids
    known_list = list(known)
    parts = [
        orphans(events, "events", known_list, "event"),
        orphans(outcomes, "outcomes", known_list, "outcome"),
        won_and_lost(outcomes),
        stages_backwards(outcomes),
        outcome_before_created(leads, outcomes),
        reject_reason_misplaced(outcomes),
        rating_misplaced(outcomes),
        duplicate_stages(outcomes),
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return empty_failures()
    return pd.concat(parts, ignore_index=True)
