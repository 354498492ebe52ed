"""`handoff validate` on a plain Parquet folder too big to hold: the whole-folder report,
gathered a lead-id bucket at a time.

`folder_buckets` splits the folder on disk; each bucket passes `partition.validate_partition`
(the single-machine rules, unchanged), and what it found is gathered as the buckets go by:
counts summed, failures kept (the report lists them) and put in `validate.in_source_order`,
held-back rows written per bucket to scratch Parquet and merged by source row into the
`<table>.csv` files the whole-folder path writes, a slice of source rows at a time. Memory
is a bucket's, plus the failures themselves. A folder read through a mapping, with CSV
tables or an accounts table, with a table-level finding, or of at most `BUCKET_LEADS` leads
is validated whole (`validate.validate_folder`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.crm_data import TABLES, CrmData
from data_contracts.cross_table import empty_failures
from data_contracts.folder_buckets import (
    BATCH_ROWS,
    BUCKET_LEADS,
    FolderBuckets,
    bucketed_folder,
    scratch_dir,
    split_folder,
)
from data_contracts.partition import SOURCE_FILE, SOURCE_ROW, PartitionResult, validate_partition
from data_contracts.validate import (
    ValidationResult,
    in_source_order,
    quarantine_file,
    unwritable_quarantine,
    validate_folder,
)


@dataclass(frozen=True)
class _Part:
    """One bucket's held-back rows of one table, sorted by source row."""

    path: Path
    first: int
    last: int


@dataclass
class BucketFindings:
    """What the buckets have found so far; held rows wait under `scratch` to be merged."""

    scratch: Path
    failures: list[pd.DataFrame] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    parts: dict[str, list[_Part]] = field(default_factory=dict)

    def add(self, bucket: int, tables: Mapping[str, pd.DataFrame], found: PartitionResult) -> None:
        """Record one bucket: its failures, counts and held-back rows as read."""
        if not found.failures.empty:
            self.failures.append(found.failures)
        for name, c in found.counts.items():
            total = self.counts.setdefault(name, {"rows": 0, "valid": 0, "quarantined": 0})
            for key in total:
                total[key] += c[key]
        for name, frame in tables.items():
            held = found.quarantined.loc[found.quarantined["table"] == name]
            if held.empty:
                continue
            path = self.scratch / name / f"{bucket:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            rows = held_rows(frame, held)
            pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path)
            first, last = int(rows[SOURCE_ROW].iloc[0]), int(rows[SOURCE_ROW].iloc[-1])
            self.parts.setdefault(name, []).append(_Part(path, first, last))

    def result(
        self, template: CrmData, out_dir: Path, merge_rows: int = BATCH_ROWS
    ) -> ValidationResult:
        """The whole-folder `ValidationResult` (its `valid` carries the folder's metadata,
        no rows), the quarantine files written to `out_dir`."""
        files = {name: template.files.get(name, name) for name in TABLES}
        found = pd.concat(self.failures, ignore_index=True) if self.failures else empty_failures()
        # `row` as the whole-folder path has it: Python ints (None would be table-level).
        found["row"] = pd.Series([int(r) for r in found["row"]], dtype=object, index=found.index)
        failures = in_source_order(found, files)
        quarantined = {
            name: merge_held(self.parts[name], quarantine_file(out_dir, name), merge_rows)
            for name in TABLES
            if self.parts.get(name)
        }
        return ValidationResult(
            ok=failures.empty,
            valid=template,
            failures=failures,
            quarantined=quarantined,
            counts={name: self.counts[name] for name in TABLES if name in self.counts},
        )


def held_rows(table: pd.DataFrame, held: pd.DataFrame) -> pd.DataFrame:
    """One bucket's held-back rows of a table as the whole-folder quarantine has them:
    `_row` (the source row), the columns as read, `_failures`."""
    by_row = table.drop(columns=[SOURCE_FILE]).set_index(SOURCE_ROW)
    rows = by_row.loc[held[SOURCE_ROW].to_numpy(dtype=np.int64)].reset_index()
    rows["_failures"] = held["_failures"].to_numpy(dtype=object)
    return rows


def merge_held(parts: list[_Part], path: Path, merge_rows: int) -> Path:
    """The buckets' held-back rows of one table merged into one CSV in source order,
    `merge_rows` source rows at a time (only the parts holding some of them are read)."""
    start, end = min(p.first for p in parts), max(p.last for p in parts) + 1
    header = True
    for lo in range(start, end, merge_rows):
        hi = lo + merge_rows
        filters = [(SOURCE_ROW, ">=", lo), (SOURCE_ROW, "<", hi)]
        pieces = [
            pq.read_table(p.path, filters=filters).to_pandas()
            for p in parts
            if p.first < hi and p.last >= lo
        ]
        if not pieces:
            continue
        rows = pd.concat(pieces, ignore_index=True).sort_values(SOURCE_ROW, kind="stable")
        try:
            rows.to_csv(path, mode="w" if header else "a", header=header, index=False)
        except OSError as err:
            raise unwritable_quarantine(path.parent, err) from err
        header = False
    return path


def validated_buckets(
    buckets: FolderBuckets, findings: BucketFindings
) -> Iterator[PartitionResult]:
    """The contracts on each bucket in turn, each recorded in `findings` before it is
    handed on (one bucket in memory at a time)."""
    for k in range(buckets.n_buckets):
        tables = buckets.read(k)
        found = validate_partition(tables, buckets.template, buckets.table_rows)
        findings.add(k, tables, found)
        yield found


def check_folder(
    data_dir: Path,
    mapping: Path | None = None,
    quarantine_dir: Path | None = None,
    *,
    bucket_leads: int = BUCKET_LEADS,
    merge_rows: int = BATCH_ROWS,
) -> ValidationResult:
    """What `validate.validate_folder` reports (counts, failures in source order, the same
    quarantine files, so the same exit code); a plain Parquet folder of more than
    `bucket_leads` leads is read a lead-id bucket at a time, and its `valid` keeps no rows."""
    split = bucketed_folder(data_dir, mapping, TABLES, bucket_leads)
    if split is None:
        return validate_folder(data_dir, mapping=mapping, quarantine_dir=quarantine_dir)
    template, paths = split
    out_dir = Path(quarantine_dir) if quarantine_dir is not None else Path(data_dir) / "quarantine"
    with scratch_dir() as root:
        buckets = split_folder(template, paths, TABLES, bucket_leads, Path(root) / "buckets")
        findings = BucketFindings(Path(root) / "held")
        for _ in validated_buckets(buckets, findings):
            pass
        return findings.result(template, out_dir, merge_rows)
