"""Outcome and event rows of a mapped export, from its stage and activity rules.

Each `[[stages]]` rule reads the rows of one table (the leads, a joined table, or a linked
one) and writes at most one outcome row per row read; each `[[events]]` rule one event per
activity row. What a rule does not write is counted in its table's report: an unmapped
stage or activity type, an open deal, a row outside `where`. A row whose stage or time is
unreadable is written anyway with the cell missing, and recorded, so validation reports
it by file, row and column and quarantines it: never silently dropped.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from data_contracts.crm_data import RowOrigin
from data_contracts.export_report import value_counts_text
from data_contracts.mapping_apply import Export, Ints, mapped, take
from data_contracts.mapping_spec import EventRule, StageRule, Where
from data_contracts.schemas import FALSE_WORDS, REQUIRED_COLUMNS, TRUE_WORDS
from data_contracts.timestamps import UTC_US

OUTCOME_COLUMNS = REQUIRED_COLUMNS["outcomes"]
EVENT_COLUMNS = REQUIRED_COLUMNS["events"]


def _where(export: Export, table: str, rule: Where | None, rows: Ints, key: str) -> np.ndarray:
    """Which of `rows` a rule's `where` keeps (all without one); the rest are counted."""
    if rule is None:
        return np.ones(len(rows), dtype=bool)
    values = export.at_rows(table, rule.column, f"{key}.where.column", rows)
    inside = values.isin(rule.keep).to_numpy(dtype=bool)
    keep = ~inside if rule.negate else inside
    words = "in" if rule.negate else "not in"
    export.skip(table, rows[~keep], f"{rule.column} {words} {list(rule.keep)}")
    return keep


def _flags(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(true, readable) for a yes/no column."""
    text = values.astype("str").str.strip().str.lower()
    true = text.isin(TRUE_WORDS).to_numpy(dtype=bool)
    false = text.isin(FALSE_WORDS).to_numpy(dtype=bool)
    return true, true | false


def _stage_values(
    export: Export, rule: StageRule, rows: Ints, key: str
) -> tuple[pd.Series, np.ndarray]:
    """(stage per row, or missing; rows to write) for one rule."""
    table = rule.table
    n = len(rows)
    report = export.report.table(table)
    if rule.stage is not None:
        return pd.Series([rule.stage] * n, dtype=object), np.ones(n, dtype=bool)
    if rule.stage_from is not None:
        raw = export.at_rows(table, str(rule.stage_from.column), f"{key}.stage.from", rows)
        stage = mapped(raw, rule.stage_from, n, strict=True)
        lost = raw.notna().to_numpy() & stage.isna().to_numpy()
        for why, count in value_counts_text(
            Counter(raw[lost].astype(str)), "unmapped stage"
        ).items():
            report.left_out[why] += count
        return stage, ~lost & raw.notna().to_numpy()
    assert rule.won is not None and rule.closed is not None
    won, won_ok = _flags(export.at_rows(table, rule.won, f"{key}.won", rows))
    closed, closed_ok = _flags(export.at_rows(table, rule.closed, f"{key}.closed", rows))
    readable = won_ok & closed_ok
    names = np.array(["closed_won", "closed_lost", None], dtype=object)
    pick = np.where(won, 0, np.where(closed, 1, 2))
    stage = pd.Series(names[np.where(readable, pick, 2)], dtype=object)
    still_open = readable & ~won & ~closed
    report.open_rows += int(still_open.sum())
    export.skip(table, rows[still_open], "open (not closed yet)")
    return stage, ~still_open


def _stage_rows(
    export: Export, rule: StageRule, ids: pd.Series, offset: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """One rule's outcome rows and the export row of each."""
    key = f"stages[{rule.index}]"
    table = rule.table
    rows, lead = export.rows(table)
    keep = _where(export, table, rule.where, rows, key)
    rows, lead = rows[keep], lead[keep]
    stage, write = _stage_values(export, rule, rows, key)
    stamps, bad = export.times(table, rule.at, f"{key}.at")
    at = take(stamps, rows)
    unreadable = bad[rows]
    if rule.stage is not None:
        # A fixed stage with no date: the lead has not reached it (an empty MQL date).
        reached = at.notna().to_numpy() | unreadable
        export.skip(table, rows[write & ~reached], f"no {rule.at.column}")
        write &= reached
    rows, lead, stage, at, unreadable = (
        rows[write],
        lead[write],
        stage[write],
        at[write],
        unreadable[write],
    )
    frame = export.tables[table].frame

    def column(name: str | None, what: str) -> pd.Series:
        if name is None:
            return pd.Series([None] * len(rows), dtype=object)
        return export.at_rows(table, name, f"{key}.{what}", rows)

    reason = pd.Series([None] * len(rows), dtype=object)
    if rule.reason is not None:
        raw = export.at_rows(table, str(rule.reason.column), f"{key}.reason", rows)
        reason = mapped(raw, rule.reason, len(rows))
    out = pd.DataFrame(
        {
            "lead_id": ids.iloc[lead].to_numpy(),
            "stage": stage.reset_index(drop=True),
            "occurred_at": at.reset_index(drop=True).astype(UTC_US),
            "reject_reason": reason,
            "amount": column(rule.amount, "amount"),
            "meeting_rating": column(rule.rating, "rating"),
        }
    )
    here = offset + np.arange(len(out), dtype=np.int64)
    export.fail(
        "outcomes",
        here[unreadable],
        "occurred_at",
        f"not a valid timestamp ({rule.at.format})",
        export.column(table, str(rule.at.column), key).iloc[rows[unreadable]],
    )
    if rule.won is not None:
        unknown = out["stage"].isna().to_numpy()
        export.fail(
            "outcomes",
            here[unknown],
            "stage",
            f"not a valid boolean ({rule.won}, {rule.closed})",
            frame[rule.won].iloc[rows[unknown]],
        )
    counts = out["stage"].value_counts()
    for stage_name, n in counts.items():
        export.report.table(table).made[str(stage_name)] += int(n)
    export.wrote(table, rows)
    return out, rows


def _lead_column(export: Export, table: str) -> str:
    """The export column that ties a rule's rows to their lead, as a report names it."""
    m = export.mapping
    link = m.tables[table].link
    join = m.tables[table].join
    if link is not None:
        return f"{link.through}.{link.through_lead}" if link.through else link.column
    if join is not None:
        return f"{m.lead_table}.{join.on}"
    return m.id_column or "(row number)"


def _origin(export: Export, parts: list[tuple[str, dict[str, str], Ints]]) -> RowOrigin:
    """Where each row came from: one source per (rule, file), in the order rows were made."""
    sources: list[tuple[str, dict[str, str]]] = []
    source_parts: list[Ints] = []
    row_parts: list[Ints] = []
    for table, columns, rows in parts:
        t = export.tables[table]
        base = len(sources)
        sources += [(file, columns) for file in t.files]
        source_parts.append(base + t.file_code[rows])
        row_parts.append(t.row[rows])
    empty = np.zeros(0, dtype=np.int64)
    return RowOrigin(
        sources=tuple(sources),
        source=np.concatenate(source_parts) if source_parts else empty,
        row=np.concatenate(row_parts) if row_parts else empty,
    )


def _label_outcomes(
    export: Export, ids: pd.Series, created: pd.Series
) -> tuple[pd.DataFrame, RowOrigin]:
    """Label-only exports: MQL at creation, won or lost a fixed time later."""
    m = export.mapping
    rule = m.label
    assert rule is not None
    n = export.n_leads
    label = export.column(m.lead_table, rule.column, "label.from").reset_index(drop=True)
    won = label.astype(str).str.strip().isin(rule.positive).to_numpy()
    closed = pd.DataFrame(
        {
            "lead_id": ids,
            "stage": np.where(won, "closed_won", "closed_lost"),
            "occurred_at": created
            + pd.to_timedelta(
                np.where(won, rule.won_after.value, rule.lost_after.value), unit="ns"
            ),
        }
    )
    parts = [closed]
    every = np.arange(n, dtype=np.int64)
    origin = [(m.lead_table, {"stage": rule.column, "lead_id": m.id_column or "(row)"}, every)]
    if rule.mql:
        parts.insert(0, pd.DataFrame({"lead_id": ids, "stage": "mql", "occurred_at": created}))
        origin.insert(0, (m.lead_table, {"lead_id": m.id_column or "(row)"}, every))
    outcomes = pd.concat(parts, ignore_index=True)
    made = export.report.table(m.lead_table).made
    for stage_name, count in outcomes["stage"].value_counts().items():
        made[str(stage_name)] += int(count)
    outcomes["occurred_at"] = outcomes["occurred_at"].astype(UTC_US)
    outcomes["reject_reason"] = pd.Series(None, index=outcomes.index, dtype="str")
    outcomes["amount"] = np.nan
    outcomes["meeting_rating"] = pd.array([pd.NA] * len(outcomes), dtype="Int64")
    return outcomes, _origin(export, origin)


def outcomes_table(
    export: Export, ids: pd.Series, created: pd.Series
) -> tuple[pd.DataFrame, RowOrigin]:
    """The outcomes contract table of a mapped export, and each row's origin."""
    m = export.mapping
    if m.label is not None:
        return _label_outcomes(export, ids, created)
    frames: list[pd.DataFrame] = []
    origin: list[tuple[str, dict[str, str], Ints]] = []
    offset = 0
    for rule in m.stages:
        frame, rows = _stage_rows(export, rule, ids, offset)
        offset += len(frame)
        frames.append(frame)
        columns = {"lead_id": _lead_column(export, rule.table), "occurred_at": str(rule.at.column)}
        if rule.stage_from is not None:
            columns["stage"] = str(rule.stage_from.column)
        elif rule.won is not None:
            columns["stage"] = rule.won
        for name, col in (("amount", rule.amount), ("meeting_rating", rule.rating)):
            if col:
                columns[name] = col
        if rule.reason is not None and rule.reason.column:
            columns["reject_reason"] = rule.reason.column
        origin.append((rule.table, columns, rows))
    if frames:
        outcomes = pd.concat(frames, ignore_index=True)
    else:
        outcomes = pd.DataFrame({c: pd.Series(dtype=object) for c in OUTCOME_COLUMNS})
    _count_open(export, outcomes)
    return outcomes, _origin(export, origin)


def _count_open(export: Export, outcomes: pd.DataFrame) -> None:
    closed = outcomes.loc[
        outcomes["stage"].isin(["closed_won", "closed_lost", "sales_rejected"]), "lead_id"
    ]
    export.report.open_leads = export.n_leads - int(pd.unique(closed.dropna()).size)


def _event_rows(
    export: Export, rule: EventRule, ids: pd.Series, offset: int
) -> tuple[pd.DataFrame, Ints]:
    key = f"events[{rule.index}]"
    table = rule.table
    report = export.report.table(table)
    rows, lead = export.rows(table)
    keep = _where(export, table, rule.where, rows, key)
    rows, lead = rows[keep], lead[keep]
    raw_type = export.at_rows(table, str(rule.type.column), f"{key}.type.from", rows)
    kind = mapped(raw_type, rule.type, len(rows), category=True, strict=True)
    typed = kind.notna().to_numpy()
    lost = ~typed & raw_type.notna().to_numpy()
    if lost.any():
        for why, count in value_counts_text(
            Counter(raw_type[lost].astype(str)), "unmapped type"
        ).items():
            report.left_out[why] += count
    no_type = ~typed & ~lost
    if no_type.any():
        report.left_out["no type"] += int(no_type.sum())
    rows, lead, kind = rows[typed], lead[typed], kind[typed].reset_index(drop=True)
    stamps, bad = export.times(table, rule.at, f"{key}.at")
    at = take(stamps, rows)
    if rule.channel is not None:
        raw = (
            export.at_rows(table, rule.channel.column, f"{key}.channel", rows)
            if rule.channel.column
            else None
        )
        channel = mapped(raw, rule.channel, len(rows), category=True)
    else:
        channel = pd.Series(pd.Categorical([None] * len(rows)))
    campaign = (
        export.at_rows(table, rule.campaign, f"{key}.campaign", rows).astype("category")
        if rule.campaign
        else pd.Series(pd.Categorical([None] * len(rows)))
    )
    out = pd.DataFrame(
        {
            "lead_id": ids.iloc[lead].reset_index(drop=True),
            "occurred_at": at,
            "type": kind,
            "channel": channel,
            "campaign": campaign,
        }
    )
    unreadable = bad[rows]
    here = offset + np.arange(len(out), dtype=np.int64)
    raw_at = export.column(table, str(rule.at.column), key)
    export.fail(
        "events",
        here[unreadable],
        "occurred_at",
        f"not a valid timestamp ({rule.at.format})",
        raw_at.iloc[rows[unreadable]],
    )
    report.made["events"] += len(out)
    export.wrote(table, rows)
    return out, rows


def events_table(export: Export, ids: pd.Series) -> tuple[pd.DataFrame, RowOrigin]:
    """The events contract table of a mapped export, and each row's origin."""
    frames: list[pd.DataFrame] = []
    origin: list[tuple[str, dict[str, str], Ints]] = []
    offset = 0
    for rule in export.mapping.events:
        frame, rows = _event_rows(export, rule, ids, offset)
        offset += len(frame)
        frames.append(frame)
        columns = {
            "lead_id": _lead_column(export, rule.table),
            "occurred_at": str(rule.at.column),
            "type": str(rule.type.column),
        }
        if rule.channel is not None and rule.channel.column:
            columns["channel"] = rule.channel.column
        if rule.campaign:
            columns["campaign"] = rule.campaign
        origin.append((rule.table, columns, rows))
    if not frames:
        empty = pd.DataFrame(
            {
                "lead_id": pd.Series(dtype="str"),
                "occurred_at": pd.Series(dtype=UTC_US),
                "type": pd.Series(dtype="str"),
                "channel": pd.Series(dtype="str"),
                "campaign": pd.Series(dtype="str"),
            }
        )
        return empty, _origin(export, [])
    events = frames[0] if len(frames) == 1 else _concat_categorical(frames)
    return events, _origin(export, origin)


def _concat_categorical(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack event frames keeping vocabulary columns categorical (union of categories)."""
    out = pd.concat(frames, ignore_index=True)
    for name in ("type", "channel", "campaign"):
        parts = [f[name] for f in frames]
        out[name] = pd.Series(
            pd.api.types.union_categoricals([p.astype("category").array for p in parts])
        )
    return out
