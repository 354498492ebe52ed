"""A CRM folder in memory (`CrmData`) and how it is read from and written to disk."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts.schemas import REQUIRED_COLUMNS

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
    source: str = "memory"
    extracted_at: pd.Timestamp | None = None

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


def locate_table(data_dir: Path, name: str) -> Path | None:
    """The table's file; None for a missing events/outcomes file (an empty table), but a
    folder without leads is not a CRM folder at all."""
    path = table_path(data_dir, name)
    if path is None and name == "leads":
        raise FileNotFoundError(f"{data_dir}: no leads.parquet or leads.csv")
    return path


def empty_table(name: str) -> pd.DataFrame:
    """A table with its contract columns and no rows: a missing events/outcomes file."""
    return pd.DataFrame({col: pd.Series(dtype=object) for col in REQUIRED_COLUMNS[name]})


def read_table(path: Path) -> pd.DataFrame:
    """Read one table as it is on disk; typing is the contracts' job, not the reader's."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=True, na_values=[""])


def read_manifest(data_dir: Path) -> dict[str, Any]:
    path = Path(data_dir) / MANIFEST
    if not path.exists():
        return {}
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def read_folder(data_dir: Path) -> CrmData:
    """Read a contract-shaped folder. A missing events or outcomes file reads as empty."""
    data_dir = Path(data_dir)
    frames: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        path = locate_table(data_dir, name)
        if path is None:
            frames[name] = empty_table(name)
        else:
            frames[name] = read_table(path)
    manifest = read_manifest(data_dir)
    extracted = manifest.get("extracted_at")
    return CrmData(
        leads=frames["leads"],
        events=frames["events"],
        outcomes=frames["outcomes"],
        source=f"folder:{data_dir}",
        extracted_at=pd.Timestamp(extracted) if extracted else None,
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
