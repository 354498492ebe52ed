"""A CRM folder in memory (`CrmData`) and how it is read from and written to disk."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from data_contracts.schemas import REQUIRED_COLUMNS, SCHEMAS

TABLES: tuple[str, ...] = ("leads", "events", "outcomes")
MANIFEST = "manifest.json"
TRUTH = "truth"


@dataclass
class CrmData:
    """The three contract tables plus what a mapping said about extra columns."""

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    fit_columns: list[str] = field(default_factory=list)
    interest_columns: list[str] = field(default_factory=list)
    excluded_columns: dict[str, str] = field(default_factory=dict)
    # Inputs the leakage guard may suspect that the mapping keeps, with the reason.
    kept_columns: dict[str, str] = field(default_factory=dict)
    source: str = "memory"
    extracted_at: pd.Timestamp | None = None
    # The file each table was read from, by table; a table with no file is absent here.
    files: dict[str, str] = field(default_factory=dict)

    @property
    def data_end(self) -> pd.Timestamp:
        """When the data was extracted: censoring is judged against this moment."""
        if self.extracted_at is not None:
            return pd.Timestamp(self.extracted_at)
        stamps = [
            pd.to_datetime(frame[col], utc=True, errors="coerce").max()
            for frame, col in (
                (self.leads, "created_at"),
                (self.events, "occurred_at"),
                (self.outcomes, "occurred_at"),
            )
            if col in frame.columns and len(frame)
        ]
        stamps = [s for s in stamps if not pd.isna(s)]
        if not stamps:
            raise ValueError("no timestamps in the data: cannot tell when it ends")
        return max(stamps)

    def table(self, name: str) -> pd.DataFrame:
        return {"leads": self.leads, "events": self.events, "outcomes": self.outcomes}[name]


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
        return pd.read_csv(path, dtype=str, keep_default_na=True, na_values=[""])
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
    manifest = read_manifest(data_dir)
    extracted = manifest.get("extracted_at")
    return CrmData(
        leads=frames["leads"],
        events=frames["events"],
        outcomes=frames["outcomes"],
        source=f"folder:{data_dir}",
        extracted_at=pd.Timestamp(extracted) if extracted else None,
        files=files,
    )


def write_folder(crm: CrmData, out_dir: Path, *, fmt: str = "parquet") -> dict[str, Path]:
    """Write the three tables (and a manifest with the extraction time) to a folder."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name in TABLES:
        path = out_dir / f"{name}.{fmt}"
        frame = crm.table(name)
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        written[name] = path
    manifest = read_manifest(out_dir)
    manifest["extracted_at"] = crm.data_end.isoformat()
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    return written
