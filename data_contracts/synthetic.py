"""Realistic synthetic CRM data with a known truth, for tests, demos and benchmarks.

`generate_to_folder(n_leads, seed, out_dir)` writes `leads`, `events`, `outcomes`,
`accounts` (parquet, contract-shaped; `synthetic_accounts`), `truth.parquet` (`lead_id, p_win, latent_fit, latent_interest`) and
`manifest.json` (`extracted_at` and a `generator` block of the parameters).

The world it simulates, so models can be judged against the truth:

* leads over two years ending at `extracted_at`, volume growing, source and industry mix
  drifting, the base win rate drifting mildly (`synthetic_leads`);
* engagement that is bursty, decaying and more intent-heavy and recent for interested leads
  (`synthetic_events`); `latent_interest` only sees events before the hand-off (MQL) moment;
* outcomes drawn from `p_win = sigmoid(a + b·fit + c·interest + d·fit·interest + e·drift)`
  (`synthetic_outcomes`), with deals still open at the data end (censoring) and sales-led
  activity after an opportunity opens, heavier for winners (the leak to guard against).

Leads are generated in chunks (ordered by creation time, ids rising with it) and appended as
parquet row groups, so memory stays bounded at any size. One seed gives identical files.
The tables are written with pyarrow directly rather than `crm_data.write_folder`, which takes
whole in-memory frames; the files and manifest are the same shape `read_folder` reads.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.crm_data import ACCOUNTS, MANIFEST, TABLES, TRUTH
from data_contracts.schemas import CONTRACT_VERSION
from data_contracts.synthetic_accounts import account_ids, accounts_table, roles_covered, true_roles
from data_contracts.synthetic_events import (
    DAY_US,
    FAMILIES,
    SOURCE_INTENT,
    THEMES,
    Events,
    campaign_vocab,
    events_table,
    latent_interest,
    marketing_events,
    sales_events,
)
from data_contracts.synthetic_hubspot import HubSpot
from data_contracts.synthetic_leads import Companies, make_companies, make_leads
from data_contracts.synthetic_outcomes import LATENT_MODEL, lifecycle, outcomes_table, p_win
from data_contracts.synthetic_salesforce import Salesforce
from data_contracts.synthetic_shapes import (
    SHAPES,
    CsvFolder,
    ShapeTables,
    account_numbers,
    keyed,
    owner_numbers,
)
from data_contracts.vocab import EVENT_TYPES, SOURCES, STAGES, TERMINAL_STAGES

GENERATOR_VERSION = "1"
EXTRACTED_AT = pd.Timestamp("2026-06-30T00:00:00Z")
SPAN_DAYS = 730
VOLUME_GROWTH = 2.5  # leads per day at the end vs at the start
HORIZON_DAYS = 180  # only for the summary's censoring count; labels decide their own
CHUNK_SIZE = 100_000  # ~2M events per row group; peak RSS ~0.7 GB whatever n_leads

_DTYPES: dict[str, dict[str, str]] = {
    "leads": {
        "lead_id": "str",
        "created_at": "datetime64[us, UTC]",
        **dict.fromkeys(("email", "company", "account_id", "phone", "mobile", "industry"), "str"),
        "employees": "Int64",
        "annual_revenue": "float64",
        **dict.fromkeys(("country", "title", "seniority", "function", "source"), "str"),
        "is_named_account": "bool",
    },
    ACCOUNTS: {
        **dict.fromkeys(("account_id", "name", "domain", "industry"), "str"),
        "employees": "Int64",
        "annual_revenue": "float64",
        "country": "str",
        "is_named_account": "bool",
        **dict.fromkeys(("abm_tier", "parent_account_id", "business_unit", "owner"), "str"),
    },
    "events": {
        "lead_id": "str",
        "occurred_at": "datetime64[us, UTC]",
        **dict.fromkeys(("type", "channel", "campaign"), "str"),
    },
    "outcomes": {
        "lead_id": "str",
        "stage": "str",
        "occurred_at": "datetime64[us, UTC]",
        "reject_reason": "str",
        "amount": "float64",
        "meeting_rating": "Int64",
    },
    TRUTH: dict(lead_id="str", p_win="float64", latent_fit="float64", latent_interest="float64"),
}


def _schema(name: str) -> pa.Schema:
    """Arrow schema with pandas metadata, so `read_parquet` gives the contract dtypes back."""
    empty = pd.DataFrame({c: pd.Series(dtype=d) for c, d in _DTYPES[name].items()})
    return pa.Schema.from_pandas(empty, preserve_index=False)


def _created_times(rng: np.random.Generator, n: int, start_us: int) -> np.ndarray:
    """Creation times over the span with exponentially growing volume, sorted."""
    g = np.log(VOLUME_GROWTH)
    tau = np.log1p(rng.random(n) * (VOLUME_GROWTH - 1.0)) / g
    return np.sort(start_us + (tau * SPAN_DAYS * DAY_US).astype(np.int64))


def _lead_ids(first: int, count: int, width: int) -> pa.Array:
    return pa.array([f"L{i:0{width}d}" for i in range(first, first + count)], type=pa.string())


def _chunk(
    rng: np.random.Generator,
    ids: pa.Array,
    created: np.ndarray,
    companies: Companies,
    start_us: int,
    end_us: int,
    month0: np.datetime64,
    campaigns: list[str],
    buying_group_effect: float = 0.0,
) -> tuple[dict[str, pa.Table], dict[str, float], np.ndarray]:
    """All four tables for one chunk of leads, its counts for the summary, and each lead's
    account (an index into `companies`)."""
    n = len(created)
    tau = (created - start_us) / (end_us - start_us)
    leads = make_leads(ids, created, tau, companies, rng)
    # Hidden intent: partly explained by fit and source, mostly the lead's own.
    intent = (
        0.35 * leads.fit
        + np.array([SOURCE_INTENT[s] for s in SOURCES])[leads.source]
        + rng.normal(0.0, 0.9, n)
    )
    mql_delay = np.exp(rng.normal(np.log(3.0) - 0.3 * intent, 1.0)) * DAY_US
    snap = created + np.maximum(mql_delay, 300e6).astype(np.int64)
    is_mql = (rng.random(n) < 1.0 / (1.0 + np.exp(-(1.1 + 0.9 * intent)))) & (snap < end_us)
    snap = np.where(is_mql, snap, created)

    marketing = marketing_events(rng, created, snap, intent, leads.source, end_us)
    interest = latent_interest(marketing, snap)
    group: np.ndarray | float = 0.0
    if buying_group_effect:
        # Deals close when the group is there: log-odds up per buying role engaged (beyond one).
        touch = marketing.type != EVENT_TYPES.index("unsubscribe")
        role = true_roles(leads.seniority, leads.function)
        covered = roles_covered(
            leads.company, role, snap, marketing.lead[touch], marketing.t[touch]
        )
        group = buying_group_effect * (covered - 1.0)
    p = p_win(leads.fit, interest, tau, group)
    life = lifecycle(rng, snap, is_mql, p, leads.fit, leads.employees, end_us)
    # Marketing stops nurturing a lead once sales has an open opportunity with it.
    marketing = marketing.where(marketing.t <= life.opp_t[marketing.lead])
    events = Events.concat(
        [marketing, sales_events(rng, life.opp_t, life.close_t, life.won, end_us)]
    )
    events = events.where(events.t < end_us)

    won_at = np.where(life.won & (life.close_t < end_us), life.close_t, np.iinfo(np.int64).max)
    horizon_end = snap + HORIZON_DAYS * DAY_US
    stages = life.table_parts["stage"]
    # As `features.labels` sees it: no win within the horizon, not closed, horizon not over.
    terminal = np.zeros(n, dtype=bool)
    terminal[
        life.table_parts["lead"][np.isin(stages, [STAGES.index(x) for x in TERMINAL_STAGES])]
    ] = True
    tables = {
        "leads": leads.table,
        "events": events_table(rng, events, ids, month0, campaigns),
        "outcomes": outcomes_table(life, ids),
        TRUTH: pa.table(
            {"lead_id": ids, "p_win": p, "latent_fit": leads.fit, "latent_interest": interest}
        ),
    }
    counts = {
        "mql_leads": float(is_mql.sum()),
        "opportunities": float((stages == STAGES.index("opportunity")).sum()),
        "won": float((stages == STAGES.index("closed_won")).sum()),
        "lost": float((stages == STAGES.index("closed_lost")).sum()),
        "open_deals": float(((life.opp_t < end_us) & (life.close_t >= end_us)).sum()),
        "censored": float(((won_at > horizon_end) & ~terminal & (horizon_end > end_us)).sum()),
        "sum_p_win": float(p.sum()),
    }
    return tables, counts, leads.company


class _NativeFolder:
    """The contract-shaped folder: one Parquet file per table, appended chunk by chunk; the
    accounts are written whole up front, and each lead carries its account's key."""

    def __init__(self, out_dir: Path, companies: Companies, seed: int) -> None:
        self.schemas = {name: _schema(name) for name in (*TABLES, TRUTH)}
        self.writers = {
            name: pq.ParquetWriter(out_dir / f"{name}.parquet", schema)
            for name, schema in self.schemas.items()
        }
        self.n_companies = len(companies.industry)
        accounts = accounts_table(companies, seed).cast(_schema(ACCOUNTS))
        pq.write_table(accounts, out_dir / f"{ACCOUNTS}.parquet")

    def write(self, tables: dict[str, pa.Table], company: np.ndarray, numbers: np.ndarray) -> None:
        leads = tables["leads"]
        at = leads.schema.get_field_index("company") + 1
        keyed = leads.add_column(at, "account_id", account_ids(company, self.n_companies))
        for name, table in {**tables, "leads": keyed}.items():
            self.writers[name].write_table(table.cast(self.schemas[name]))

    def close(self) -> dict[str, str]:
        for writer in self.writers.values():
            writer.close()
        return {name: f"{name}.parquet" for name in (*self.writers, ACCOUNTS)}


class _ExportFolder:
    """An export in a CRM's shape (`synthetic_shapes`): its CSV files, and the truth with
    the export's lead ids (so a run through the shipped mapping still has its oracle)."""

    def __init__(self, out_dir: Path, shape: str, companies: Companies, seed: int) -> None:
        self.shape = shape_tables(shape)
        self.csv = CsvFolder(out_dir)
        self.truth = pq.ParquetWriter(out_dir / f"{TRUTH}.parquet", _schema(TRUTH))
        for name, table in self.shape.accounts(accounts_table(companies, seed)).items():
            self.csv.write(name, table)

    def write(self, tables: dict[str, pa.Table], company: np.ndarray, numbers: np.ndarray) -> None:
        for name, table in self.shape.chunk(tables, company, numbers).items():
            self.csv.write(name, table)
        truth = tables[TRUTH].set_column(0, "lead_id", self.shape.lead_ids(numbers))
        self.truth.write_table(truth.cast(_schema(TRUTH)))

    def close(self) -> dict[str, str]:
        self.csv.close()
        self.truth.close()
        return {name: name for name in self.csv.rows} | {TRUTH: f"{TRUTH}.parquet"}


def generate_to_folder(
    n_leads: int,
    seed: int,
    out_dir: Path,
    *,
    extracted_at: pd.Timestamp = EXTRACTED_AT,
    chunk_size: int = CHUNK_SIZE,
    shape: str = "native",
    buying_group_effect: float = 0.0,
) -> dict[str, object]:
    """Write a synthetic CRM folder of `n_leads` leads; return counts for the CLI to print.

    `shape` "native" writes the contract tables; "salesforce" and "hubspot" write the same
    truth (the same draws) as that CRM's export files (`synthetic_shapes`).
    `buying_group_effect` > 0 makes wins depend on the buying group: each buying role its
    account has engaged (a contact's touch in `ENGAGED_DAYS` before the snapshot) beyond the
    first adds that much to the log-odds; 0 (the default) leaves the truth as it was.
    """
    if n_leads < 1:
        raise ValueError("n_leads must be at least 1")
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    end = pd.Timestamp(extracted_at).tz_convert("UTC").as_unit("us")
    end_us = int(end.to_datetime64().astype("datetime64[us]").astype(np.int64))
    start_us = end_us - SPAN_DAYS * DAY_US
    n_chunks = -(-n_leads // chunk_size)
    seeds = np.random.SeedSequence(seed).spawn(n_chunks + 1)
    rng = np.random.default_rng(seeds[0])
    created = _created_times(rng, n_leads, start_us)
    companies = make_companies(max(50, n_leads // 3), rng)
    month0 = np.datetime64(start_us - 60 * DAY_US, "us").astype("datetime64[M]")
    n_months = int((np.datetime64(end_us, "us").astype("datetime64[M]") - month0).astype(int)) + 1
    campaigns = campaign_vocab(month0, n_months)
    width = max(7, len(str(n_leads)))

    names = (*TABLES, TRUTH)
    sink = (
        _NativeFolder(out_dir, companies, seed)
        if shape == "native"
        else _ExportFolder(out_dir, shape, companies, seed)
    )
    totals: dict[str, float] = {}
    rows = dict.fromkeys(names, 0)
    try:
        for k in range(n_chunks):
            lo, hi = k * chunk_size, min((k + 1) * chunk_size, n_leads)
            tables, counts, company = _chunk(
                np.random.default_rng(seeds[k + 1]),
                _lead_ids(lo + 1, hi - lo, width),
                created[lo:hi],
                companies,
                start_us,
                end_us,
                month0,
                campaigns,
                buying_group_effect,
            )
            sink.write(tables, company, np.arange(lo + 1, hi + 1, dtype=np.int64))
            for name, table in tables.items():
                rows[name] += table.num_rows
            for key, value in counts.items():
                totals[key] = totals.get(key, 0.0) + value
    finally:
        files = sink.close()

    params: dict[str, object] = {
        "name": "data_contracts.synthetic",
        "version": GENERATOR_VERSION,
        "contract_version": CONTRACT_VERSION,
        "n_leads": n_leads,
        "seed": seed,
        "chunk_size": chunk_size,
        "span_days": SPAN_DAYS,
        "volume_growth": VOLUME_GROWTH,
        "latent_model": "p_win = sigmoid(a + b*fit + c*interest + d*fit*interest + e*(tau-0.5)"
        " + g*(roles_covered - 1))",
        "buying_group_effect": buying_group_effect,
        "coefficients": LATENT_MODEL,
        "interest": "log1p of intent-weighted touches before the MQL moment, 14-day half-life",
        "campaign_families": list(FAMILIES),
        "campaign_themes": list(THEMES),
    }
    if shape != "native":
        params["shape"] = shape
    manifest = {"extracted_at": end.isoformat(), "generator": params}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    closed = totals["won"] + totals["lost"]
    shaped = (
        {} if shape == "native" else {"shape": shape, "files": ", ".join(sorted(files.values()))}
    )
    return {
        "out_dir": str(out_dir),
        **shaped,
        "leads": n_leads,
        "events": rows["events"],
        "events_per_lead": round(rows["events"] / n_leads, 2),
        "outcomes": rows["outcomes"],
        "mql_leads": int(totals["mql_leads"]),
        "opportunities": int(totals["opportunities"]),
        "won": int(totals["won"]),
        "lost": int(totals["lost"]),
        "win_rate": round(totals["won"] / n_leads, 4),
        "win_rate_closed_deals": round(totals["won"] / closed, 4) if closed else None,
        "mean_p_win": round(totals["sum_p_win"] / n_leads, 4),
        "open_deals": int(totals["open_deals"]),
        f"censored_{HORIZON_DAYS}d": int(totals["censored"]),
        "censored_share": round(totals["censored"] / n_leads, 4),
        "extracted_at": end.isoformat(),
        "seconds": round(time.perf_counter() - started, 2),
    }


def shape_tables(shape: str) -> ShapeTables:
    """The writer of one export shape."""
    if shape == "salesforce":
        return Salesforce()
    if shape == "hubspot":
        return HubSpot()
    raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")


def export_account_ids(shape: str, native_ids: pd.Series) -> pd.Series:
    """The keys a shape gives the native accounts (`A000123` -> the CRM's record id); a
    missing key (a parent that is none) stays missing."""
    if shape == "native":
        return native_ids.astype(object)
    numbers, has = account_numbers(pa.array(native_ids.astype(object), type=pa.string()))
    ids = keyed(shape_tables(shape).account_ids(numbers), has)
    return pd.Series(ids.to_pylist(), index=native_ids.index, dtype=object)


def export_owner_ids(shape: str, owners: pd.Series) -> pd.Series:
    """The CRM user ids a shape gives the native account owners (`OwnerId`)."""
    if shape == "native":
        return owners.astype(object)
    numbers, has = owner_numbers(pa.array(owners.astype(object), type=pa.string()))
    ids = keyed(shape_tables(shape).owner_ids(numbers), has)
    return pd.Series(ids.to_pylist(), index=owners.index, dtype=object)


def export_lead_ids(shape: str, native_ids: pd.Series) -> pd.Series:
    """The ids a shape gives the native folder's leads (`L0000123` -> the CRM's record id)."""
    if shape == "native":
        return native_ids.astype("str")
    numbers = native_ids.astype("str").str.slice(1).astype(np.int64).to_numpy()
    ids = shape_tables(shape).lead_ids(numbers)
    return pd.Series(ids.to_pylist(), index=native_ids.index, dtype="str")
