"""`handoff score`: score a whole CRM folder with the champion, for nightly runs.

Same answer per lead as the API (reasons flattened to text columns), in chunks, written as
parquet or csv; a plain Parquet folder larger than one chunk is read a lead-id bucket at a
time (`data_contracts.folder_buckets`), so memory does not grow with the folder. Rows
failing the contracts are left out and counted; leads are scored as of the data's
extraction time unless told otherwise.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from data_contracts import CONTRACT_VERSION
from data_contracts.crm_data import CrmData
from data_contracts.folder_buckets import (
    BUCKET_LEADS,
    FolderBuckets,
    bucketed_folder,
    iter_buckets,
    scratch_dir,
    split_folder,
)
from data_contracts.mapping import read_crm
from data_contracts.schemas import REQUIRED_COLUMNS, ScoredLead
from data_contracts.vocab import QUADRANTS
from features.lead_accounts import AccountInputs
from models.scorer import SCORES
from serving.batch_accounts import score_accounts_file
from serving.scoring import ScoringFailed
from serving.served_model import ServedModel
from serving.settings import ServingSettings

if TYPE_CHECKING:  # loading the champion's code (MLflow, LightGBM) waits for the --out check
    from serving.champion import Champion

CHUNK_LEADS = BUCKET_LEADS  # leads scored at a time: a bucket's
OUTPUT_SUFFIXES: tuple[str, ...] = (".parquet", ".csv")
OUTPUT_COLUMNS: tuple[str, ...] = tuple(ScoredLead.to_schema().columns)
_OUTPUT_SCHEMA = ScoredLead.to_schema()


class NoChampion(RuntimeError):
    """Nothing to score with: no signed-off champion."""


class UnsupportedOutput(ValueError):
    """The output file names a format batch scoring does not write."""


class AccountsOutOfReach(RuntimeError):
    """The champion reads account features, which need every contact of an account at
    once, and this engine reads the leads in pieces that split accounts."""


def accounts_out_of_reach(champion: Champion, where: str) -> AccountsOutOfReach:
    """The refusal to score with a champion that reads account features `where`."""
    return AccountsOutOfReach(
        f"champion {champion.version} reads account features, which need every contact of "
        f"an account at once, and {where}: score with --engine single, or promote a version "
        "trained with `handoff train --no-account-features`"
    )


def check_output(out: Path) -> Path:
    """`out`, if batch scoring can write it; checked before anything is loaded."""
    if out.suffix not in OUTPUT_SUFFIXES:
        raise UnsupportedOutput(f"{out}: the output must end in {' or '.join(OUTPUT_SUFFIXES)}")
    return out


def _reason_text(value: Any) -> str:
    """`text (+)` per reason, `; `-separated: readable in a spreadsheet, parseable if needed."""
    if not isinstance(value, list | tuple | np.ndarray):
        return ""
    return "; ".join(f"{r['text']} ({'+' if r['direction'] == 'up' else '-'})" for r in value)


def _joined(value: Any) -> str:
    if not isinstance(value, list | tuple | np.ndarray):
        return ""
    return ",".join(str(v) for v in value)


def _texts(scored: pd.DataFrame, n: int) -> dict[str, Any]:
    """Each score's one-line `reason_text`, as the API answers it."""
    return {
        f"{p}_reason_text": scored[f"{p}_reason_text"].astype(str).to_numpy()
        if f"{p}_reason_text" in scored.columns
        else [""] * n
        for p in SCORES
    }


def flatten(
    scored: pd.DataFrame, champion: Champion, as_of: pd.Timestamp, run_id: str
) -> pd.DataFrame:
    """API answers as one flat row per lead."""
    n = len(scored)
    has_reasons = "fit_reasons" in scored.columns
    unseen = scored["unseen_categories"] if "unseen_categories" in scored.columns else None
    return pd.DataFrame(
        {
            "request_id": np.full(n, run_id, dtype=object),
            "lead_id": scored.index.astype(str),
            "as_of": pd.Series(as_of, index=range(n)).to_numpy(),
            "fit_score": scored["fit_score"].astype("int64").to_numpy(),
            "fit_probability": scored["fit_probability"].astype("float64").to_numpy(),
            "fit_reasons": [_reason_text(v) for v in scored["fit_reasons"]]
            if has_reasons
            else [""] * n,
            **_texts(scored, n),
            "interest_score": scored["interest_score"].astype("int64").to_numpy(),
            "interest_probability": scored["interest_probability"].astype("float64").to_numpy(),
            "interest_reasons": [_reason_text(v) for v in scored["interest_reasons"]]
            if has_reasons
            else [""] * n,
            "combined_score": scored["combined_score"].astype("int64").to_numpy(),
            "combined_probability": scored["combined_probability"].astype("float64").to_numpy(),
            "quadrant": scored["quadrant"].astype(str).to_numpy(),
            "action": scored["action"].astype(str).to_numpy(),
            "tier": scored["tier"].astype("int64").to_numpy(),
            "speed_to_lead_minutes": scored["speed_to_lead_minutes"].astype("int64").to_numpy(),
            "unseen_categories": [_joined(v) for v in unseen] if unseen is not None else [""] * n,
            "model_version": champion.version,
            "feature_sets": ",".join(f["label"] for f in champion.feature_sets),
            "contract_version": champion.contract_version,
            "api_contract_version": CONTRACT_VERSION,
        },
        columns=list(OUTPUT_COLUMNS),
    )


def checked_output(flat: pd.DataFrame) -> pd.DataFrame:
    """The rows as the `ScoredLead` contract requires them; a violation is a scoring fault
    (the model answered out of contract), reported by column and check, not written."""
    import pandera.errors

    try:
        return _OUTPUT_SCHEMA.validate(flat, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        found = sorted({f"{c}: {k}" for c, k in zip(cases["column"], cases["check"], strict=True)})
        raise ScoringFailed(
            "scored rows break the ScoredLead contract: " + "; ".join(found[:10])
        ) from None


def score_frame(
    model: ServedModel,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    as_of: pd.Timestamp | pd.Series,
    *,
    reasons: bool = True,
    accounts: AccountInputs | None = None,
) -> pd.DataFrame:
    """`score_raw`, with rows keyed and ordered by the leads frame's `lead_id`."""
    scored = model.score_raw(leads, events, as_of, reasons=reasons, accounts=accounts)
    if "lead_id" in scored.columns:
        scored = scored.set_index("lead_id")
    ids = leads["lead_id"].tolist()
    missing = scored.index.difference(pd.Index(ids))
    if len(scored) < len(ids) or len(missing):
        raise ScoringFailed("the model did not return one row per lead")
    return scored.reindex(ids)


def load_champion(settings: ServingSettings) -> Champion:
    """The signed-off champion, or `NoChampion` saying what to do."""
    from serving.champion import ChampionHolder

    holder = ChampionHolder(settings)
    holder.refresh()
    if holder.current is None:
        raise NoChampion(holder.reason)
    return holder.current


def training_differences(champion: Champion, crm: CrmData) -> list[str]:
    """How this data differs from what the champion was trained on, in words: another
    mapping (or a mapping against a plain folder), and extra inputs the data lacks."""
    out: list[str] = []
    trained = champion.source or ""
    mapped = trained.startswith("mapping:") or crm.source.startswith("mapping:")
    if mapped and trained != crm.source:
        out.append(
            f"champion version {champion.version} was trained on "
            f"{trained or 'an unrecorded source'}, but this data is read as {crm.source}"
        )
    missing = [e["name"] for e in champion.extras if e["name"] not in crm.leads.columns]
    if missing:
        out.append(
            f"this data lacks the extra inputs champion version {champion.version} was "
            f"trained with ({', '.join(missing)}): every lead is scored with them unknown"
        )
    return out


def _valid_for_scoring(crm: CrmData) -> tuple[CrmData, int, int]:
    """The contract-valid data (outcomes play no part in scoring, so are not checked; the
    accounts come back typed as their contract says), and the leads and events left out."""
    from data_contracts.validate import validate_crm

    n_leads, n_events = len(crm.leads), len(crm.events)
    empty_outcomes = pd.DataFrame(
        {c: pd.Series(dtype=object) for c in REQUIRED_COLUMNS["outcomes"]}
    )
    converted = crm.conversion_failures
    checked = replace(
        crm,
        outcomes=empty_outcomes,
        conversion_failures=None
        if converted is None
        else converted[converted["table"] != "outcomes"],
        origin={k: v for k, v in crm.origin.items() if k != "outcomes"},
    )
    valid = validate_crm(checked).valid
    return valid, n_leads - len(valid.leads), n_events - len(valid.events)


Chunk = tuple[pd.DataFrame, pd.DataFrame, AccountInputs | None]


def _with_accounts(
    chunks: Iterator[tuple[pd.DataFrame, pd.DataFrame]],
    champion: Champion,
    folder: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None],
) -> Iterator[Chunk]:
    """Each chunk with what its leads' account features are seen from (the whole folder's
    contacts of their accounts) when the champion reads them."""
    reads = champion.model.reads_accounts
    for leads, events in chunks:
        yield leads, events, AccountInputs.of_folder(leads, *folder) if reads else None


def _chunks(
    leads: pd.DataFrame, events: pd.DataFrame, chunk_leads: int
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Valid leads `chunk_leads` at a time, each with its events."""
    if len(leads) <= chunk_leads:  # one chunk: no need to map 20 events a lead to chunks
        yield leads, events
        return
    ids = leads["lead_id"].astype(str).to_numpy()
    chunk_of = pd.Series(np.arange(len(ids)) // chunk_leads, index=ids)
    event_chunks = {
        int(k): frame for k, frame in events.groupby(events["lead_id"].astype(str).map(chunk_of))
    }
    for k, start in enumerate(range(0, len(ids), chunk_leads)):
        yield leads.iloc[start : start + chunk_leads], event_chunks.get(k, events.iloc[:0])


@dataclass
class _LeftOut:
    """Rows the contracts left out, counted as the chunks go by."""

    leads: int = 0
    events: int = 0


def _bucket_chunks(buckets: FolderBuckets, left: _LeftOut) -> Iterator[Chunk]:
    """Each bucket's valid leads and events, validated one bucket at a time and scored as
    one chunk (buckets hold about `chunk_leads` leads; one a few percent over is not split).
    A bucketed folder has no accounts table (`parquet_tables`), so no account inputs."""
    for checked in iter_buckets(buckets):
        left.leads += checked.counts["leads"]["rows"] - checked.counts["leads"]["valid"]
        left.events += checked.counts["events"]["rows"] - checked.counts["events"]["valid"]
        yield checked.valid.leads, checked.valid.events, None


def _write_scored(
    chunks: Iterator[Chunk],
    champion: Champion,
    when: pd.Timestamp,
    out: Path,
    reasons: bool,
) -> dict[str, int]:
    """Score and write chunk by chunk (to a `.partial` file renamed at the end); the
    quadrant counts."""
    run_id = f"batch-{uuid.uuid4().hex}"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    writer: Any = None
    quadrants: dict[str, int] = {}
    n_scored = 0
    try:
        for chunk, chunk_events, accounts in chunks:
            if not len(chunk):
                continue
            scored = score_frame(
                champion.model, chunk, chunk_events, when, reasons=reasons, accounts=accounts
            )
            flat = checked_output(flatten(scored, champion, when, run_id))
            for q, c in flat["quadrant"].value_counts().items():
                quadrants[str(q)] = quadrants.get(str(q), 0) + int(c)
            if out.suffix == ".parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(flat, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            else:
                flat.to_csv(tmp, mode="a", header=(n_scored == 0), index=False)
            n_scored += len(flat)
        if writer is not None:
            writer.close()
            writer = None
        if n_scored == 0:  # still write a file with the columns, so downstream jobs run
            empty = pd.DataFrame(columns=list(OUTPUT_COLUMNS))
            if out.suffix == ".parquet":
                empty.to_parquet(tmp, index=False)
            else:
                empty.to_csv(tmp, index=False)
        tmp.replace(out)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return quadrants


_SPLIT_TABLES = ("leads", "events")  # outcomes play no part in scoring


def score_folder(
    data_dir: Path | str,
    *,
    out: Path | str,
    mapping: Path | str | None = None,
    settings: ServingSettings | None = None,
    as_of: pd.Timestamp | None = None,
    chunk_leads: int = CHUNK_LEADS,
    reasons: bool = True,
) -> str:
    """Score every valid lead in `data_dir` with the champion; write `out`; return a summary.

    A plain Parquet folder with more than `chunk_leads` leads is split on disk into
    lead-id buckets of about `chunk_leads` leads (`folder_buckets`) and read, checked and
    scored one bucket at a time, so memory stays bounded however large the folder; its rows
    come out bucket by bucket. Anything else is read whole, rows in source order.
    """
    started = time.perf_counter()
    out = check_output(Path(out))
    settings = settings or ServingSettings()
    champion = load_champion(settings)
    data_dir = Path(data_dir)
    split = bucketed_folder(data_dir, mapping, _SPLIT_TABLES, chunk_leads)
    if split is not None:
        template, paths = split
        warnings = training_differences(champion, template)
        when = scoring_time(as_of, template.data_end)
        left = _LeftOut()
        with scratch_dir() as root:
            buckets = split_folder(template, paths, _SPLIT_TABLES, chunk_leads, Path(root))
            chunks = _bucket_chunks(buckets, left)
            quadrants = _write_scored(chunks, champion, when, out, reasons)
        left_out = (left.leads, left.events)
        account_line = (
            "accounts: not scored (a folder read in lead-id buckets is scored lead by lead; "
            "score its accounts from a folder of one chunk)"
            if template.accounts is not None
            else ""
        )
    else:
        crm = read_crm(data_dir, Path(mapping) if mapping else None)
        warnings = training_differences(champion, crm)
        when = scoring_time(as_of, crm.data_end)
        valid, dropped_leads, dropped_events = _valid_for_scoring(crm)
        leads, events = valid.leads, valid.events
        chunks = _with_accounts(
            _chunks(leads, events, chunk_leads), champion, (leads, events, valid.accounts)
        )
        quadrants = _write_scored(chunks, champion, when, out, reasons)
        left_out = (dropped_leads, dropped_events)
        account_line = score_accounts_file(
            valid.accounts, leads, events, settings=settings, when=when, out=out
        )
    return summary_text(
        champion,
        when,
        out,
        seconds=time.perf_counter() - started,
        quadrants=quadrants,
        left_out=left_out,
        warnings=warnings,
        accounts=account_line,
    )


def scoring_time(as_of: pd.Timestamp | None, data_end: pd.Timestamp) -> pd.Timestamp:
    """When leads are scored: `as_of` if given, else the data's end; UTC, in µs."""
    when = pd.Timestamp(as_of if as_of is not None else data_end)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    return when.as_unit("us")


def summary_text(
    champion: Champion,
    when: pd.Timestamp,
    out: Path,
    *,
    seconds: float,
    quadrants: dict[str, int],
    left_out: tuple[int, int],
    warnings: Sequence[str] = (),
    accounts: str = "",
) -> str:
    """What a batch run says when it ends (both engines say it alike); `accounts`: what
    became of the folder's accounts (`serving.batch_accounts`), when there is anything to say."""
    parts = ", ".join(f"{q} {quadrants.get(q, 0)}" for q in QUADRANTS)
    return "".join(f"WARNING: {w}\n" for w in warnings) + (
        f"scored {sum(quadrants.values())} leads with model version {champion.version} as of "
        f"{when.isoformat()} in {seconds:.1f}s -> {out}\n"
        f"quadrants: {parts}\n"
        + (f"{accounts}\n" if accounts else "")
        + f"left out by the contracts: {left_out[0]} leads, {left_out[1]} events"
    )
