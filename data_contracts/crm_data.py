"""A CRM folder in memory (`CrmData`) and how it is read from and written to disk."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow.parquet as pq

from data_contracts.schemas import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, SCHEMAS

if TYPE_CHECKING:
    from data_contracts.export_report import ExportReport

TABLES: tuple[str, ...] = ("leads", "events", "outcomes")
# A table a folder may hold or not: without it leads are scored alone, as before 1.2.0.
ACCOUNTS = "accounts"
MANIFEST = "manifest.json"
TRUTH = "truth"
# CSV cells that mean "missing" (pandas' own default list, written out so that every engine
# reading a CSV table -- pandas here, Spark in `spark_tables` -- reads the same cells as missing).
CSV_MISSING: tuple[str, ...] = (
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND"),
    *("1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
)


@dataclass(frozen=True)
class RowOrigin:
    """Where each row of a contract table came from, so a failure names the export's own
    file, row and column rather than the contract table's.

    `sources` holds one (file, {contract column: source column}) pair per way rows were
    made (a table read by two rules appears twice); `source[i]` indexes it for row i and
    `row[i]` is the 0-based data row in that file.
    """

    sources: tuple[tuple[str, dict[str, str]], ...]
    source: npt.NDArray[np.int64]
    row: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.row)


@dataclass
class CrmData:
    """The three contract tables, the optional accounts, and what a mapping said about
    extra columns."""

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    fit_columns: list[str] = field(default_factory=list)
    interest_columns: list[str] = field(default_factory=list)
    excluded_columns: dict[str, str] = field(default_factory=dict)
    # Inputs the leakage guard may suspect that the mapping keeps, with the reason, by lead
    # column (a mapping's [keep]).
    kept_columns: dict[str, str] = field(default_factory=dict)
    source: str = "memory"
    extracted_at: pd.Timestamp | None = None
    # The file each table was read from, by table; a table with no file is absent here.
    files: dict[str, str] = field(default_factory=dict)
    # Lead contract fields the data does not have: not columns of `leads`, not checked, and
    # no feature is built from them.
    absent_fields: tuple[str, ...] = ()
    # Human words for extra columns: column -> {"description": label, "phrase": template}.
    extra_words: dict[str, dict[str, str]] = field(default_factory=dict)
    # Cells a mapping could not convert (an unreadable timestamp), as contract-table rows:
    # columns table, row, column, check, value. Validation reports and quarantines them.
    conversion_failures: pd.DataFrame | None = None
    # Per contract table, where its rows came from in a mapped export (absent: the table's
    # rows are its file's rows).
    origin: dict[str, RowOrigin] = field(default_factory=dict)
    # What each table of a mapped export contributed (`handoff mapping check`).
    report: ExportReport | None = None
    # The accounts the leads' `account_id` points into; None: the data has no account table.
    accounts: pd.DataFrame | None = None

    @property
    def data_end(self) -> pd.Timestamp:
        """When the data was extracted: censoring is judged against this moment."""
        if self.extracted_at is not None:
            return pd.Timestamp(self.extracted_at)
        stamps = [
            latest_time(frame[col])
            for name, frame in (
                ("leads", self.leads),
                ("events", self.events),
                ("outcomes", self.outcomes),
            )
            if (col := TIME_COLUMNS[name]) in frame.columns and len(frame)
        ]
        return data_end_of(stamps)

    def table(self, name: str) -> pd.DataFrame:
        if name == ACCOUNTS:
            if self.accounts is None:
                raise KeyError(f"{self.source} has no {ACCOUNTS} table")
            return self.accounts
        return {"leads": self.leads, "events": self.events, "outcomes": self.outcomes}[name]

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables this data holds: the three, and accounts when it has them."""
        return TABLES if self.accounts is None else (*TABLES, ACCOUNTS)


# The column whose latest value says when a table's data ends.
TIME_COLUMNS: dict[str, str] = {
    "leads": "created_at",
    "events": "occurred_at",
    "outcomes": "occurred_at",
}


def latest_time(values: pd.Series) -> pd.Timestamp:
    """The latest readable UTC time in `values` (NaT when none is readable)."""
    return pd.Timestamp(pd.to_datetime(values, utc=True, errors="coerce").max())


def data_end_of(stamps: list[pd.Timestamp]) -> pd.Timestamp:
    """The data's end from each table's latest time (missing ones ignored)."""
    known = [s for s in stamps if not pd.isna(s)]
    if not known:
        raise ValueError("no timestamps in the data: cannot tell when it ends")
    return max(known)


def table_path(data_dir: Path, name: str) -> Path | None:
    """The file holding table `name` in a folder (.parquet preferred over .csv), if any."""
    for suffix in (".parquet", ".csv"):
        candidate = Path(data_dir) / f"{name}{suffix}"
        if candidate.exists():
            return candidate
    return None


class NotACrmFolder(FileNotFoundError):
    """A folder without a leads table: most often a foreign export that needs a mapping."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        super().__init__(f"{data_dir}: no leads.parquet or leads.csv")


def locate_table(data_dir: Path, name: str) -> Path | None:
    """The table's file; None for a missing events/outcomes file (an empty table), but a
    folder without leads is not a CRM folder at all."""
    path = table_path(data_dir, name)
    if path is None and name == "leads":
        raise NotACrmFolder(data_dir)
    return path


def empty_table(name: str) -> pd.DataFrame:
    """A table with its contract columns and no rows: a missing events/outcomes file."""
    return pd.DataFrame({col: pd.Series(dtype=object) for col in REQUIRED_COLUMNS[name]})


def dictionary_columns(name: str) -> list[str]:
    """Low-cardinality string columns of a table: those with a closed vocabulary, and campaigns."""
    schema = SCHEMAS[name]
    vocab = [c for c, col in schema.columns.items() if any(k.name == "isin" for k in col.checks)]
    return [*vocab, "campaign"] if "campaign" in schema.columns else vocab


def read_table(path: Path) -> pd.DataFrame:
    """Read one table as it is on disk; typing is the contracts' job, not the reader's.

    Parquet vocabulary columns of a contract table (named by the file's stem) are read as
    dictionaries (pandas categoricals): decoding 20M repeated strings is most of the read
    time otherwise, and the contracts check each category once.
    """
    path = Path(path)
    if path.suffix != ".parquet":
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=list(CSV_MISSING))
    if path.stem not in SCHEMAS:
        return pd.read_parquet(path)
    present = set(pq.read_schema(path).names)
    wanted = [c for c in dictionary_columns(path.stem) if c in present]
    return pq.read_table(path, read_dictionary=wanted).to_pandas()


def read_manifest(data_dir: Path) -> dict[str, Any]:
    path = Path(data_dir) / MANIFEST
    if not path.exists():
        return {}
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def read_folder(data_dir: Path) -> CrmData:
    """Read a contract-shaped folder as it is on disk, recording which files it holds.

    A missing events or outcomes file reads as an empty table with the contract columns; an
    empty file as a table without columns, for validation to report.
    """
    data_dir = Path(data_dir)
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    for name in TABLES:
        path = locate_table(data_dir, name)
        if path is None:
            frames[name] = empty_table(name)
            continue
        files[name] = path.name
        try:
            frames[name] = read_table(path)
        except pd.errors.EmptyDataError:
            frames[name] = pd.DataFrame()
    accounts = None
    if (path := table_path(data_dir, ACCOUNTS)) is not None:
        files[ACCOUNTS] = path.name
        try:
            accounts = read_table(path)
        except pd.errors.EmptyDataError:
            accounts = pd.DataFrame()
    manifest = read_manifest(data_dir)
    extracted = manifest.get("extracted_at")
    leads = frames["leads"]
    return CrmData(
        leads=leads,
        events=frames["events"],
        outcomes=frames["outcomes"],
        source=f"folder:{data_dir}",
        extracted_at=pd.Timestamp(extracted) if extracted else None,
        files=files,
        absent_fields=_absent(manifest, leads),
        accounts=accounts,
    )


def _absent(manifest: dict[str, Any], leads: pd.DataFrame) -> tuple[str, ...]:
    """Fields the folder's manifest declares absent, and optional columns it leaves out."""
    declared = tuple(str(f) for f in manifest.get("absent_fields", ()))
    return (*declared, *(f for f in missing_optional(leads, "leads") if f not in declared))


def missing_optional(frame: pd.DataFrame, name: str) -> tuple[str, ...]:
    """Optional contract columns (`OPTIONAL_COLUMNS`) a table on disk leaves out."""
    if frame.empty and not len(frame.columns):
        return ()  # an empty file: validation reports it, not its columns
    return tuple(c for c in OPTIONAL_COLUMNS[name] if c not in frame.columns)


def write_folder(crm: CrmData, out_dir: Path, *, fmt: str = "parquet") -> dict[str, Path]:
    """Write the tables (accounts when there are any) and a manifest with the extraction
    time to a folder."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name in crm.tables:
        path = out_dir / f"{name}.{fmt}"
        frame = crm.table(name)
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        written[name] = path
    manifest = read_manifest(out_dir)
    manifest["extracted_at"] = crm.data_end.isoformat()
    if crm.absent_fields:
        manifest["absent_fields"] = list(crm.absent_fields)
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    return written
