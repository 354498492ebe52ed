"""A plain CRM folder split on disk into lead-id buckets, each checked by the contracts alone.

A folder too big to hold in memory (5M leads, 100M events) is streamed once, a batch of
Parquet rows at a time; every row goes to the bucket of its lead_id's hash, carrying its
source file and row (`partition.SOURCE_COLUMNS`). All rows of a lead share a bucket, so
`partition.validate_partition` finds on each bucket what the whole-table contracts find
on the folder -- the Spark path's argument, on one machine -- and only one bucket is in
memory at a time. Folders read through a mapping, with CSV tables or with an accounts
table are not split, nor is a folder with a table-level finding (a missing column, an empty
file: the whole-table path reports those), nor one of at most `BUCKET_LEADS` leads.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data_contracts.crm_data import (
    ACCOUNTS,
    TABLES,
    TIME_COLUMNS,
    CrmData,
    data_end_of,
    empty_table,
    latest_time,
    locate_table,
    missing_optional,
    read_manifest,
    read_table,
    table_path,
)
from data_contracts.partition import (
    SOURCE_FILE,
    SOURCE_ROW,
    PartitionResult,
    stand_in,
    validate_partition,
)
from data_contracts.validate import table_failures

BATCH_ROWS = 1_000_000  # rows of a table read at a time while splitting
# A plain folder with more leads than this is read a lead-id bucket of about this many leads
# at a time, by `handoff validate`, `handoff train` and `handoff score` alike.
BUCKET_LEADS = 100_000


@dataclass(frozen=True)
class FolderBuckets:
    """Bucket files of some tables of a folder, and what every bucket is judged against."""

    root: Path
    n_buckets: int
    tables: tuple[str, ...]
    template: CrmData  # extraction time, files, absent fields: what a bucket cannot know
    table_rows: dict[str, int]  # each whole table's length

    def path(self, table: str, bucket: int) -> Path:
        return bucket_path(self.root, table, bucket)

    def read(self, bucket: int) -> dict[str, pd.DataFrame]:
        """One bucket's tables as read, each row with its `SOURCE_COLUMNS`."""
        return {name: read_table(self.path(name, bucket)) for name in self.tables}

    def validated(self, bucket: int) -> PartitionResult:
        """The contracts on one bucket (tables not split are empty)."""
        return validate_partition(self.read(bucket), self.template, self.table_rows)


def bucket_path(root: Path, table: str, bucket: int) -> Path:
    """One bucket's file of one table, named like the table (so `read_table` reads its
    vocabulary columns as the whole-table path does)."""
    return root / f"{bucket:05d}" / f"{table}.parquet"


def parquet_tables(data_dir: Path) -> dict[str, Path] | None:
    """The folder's tables, if each present one is a single Parquet file and it has no
    accounts table (else None): an account is shared by leads of many buckets, and the
    account rules judge a lead against all of them."""
    if table_path(Path(data_dir), ACCOUNTS) is not None:
        return None
    found = {name: locate_table(Path(data_dir), name) for name in TABLES}
    paths = {name: p for name, p in found.items() if p is not None}
    if all(p.is_file() and p.suffix == ".parquet" for p in paths.values()):
        return paths
    return None


def lead_rows(paths: dict[str, Path]) -> int:
    return int(pq.ParquetFile(paths["leads"]).metadata.num_rows)


def _hashed(lead_ids: pa.Array) -> np.ndarray:
    """Each row's hash of its lead_id as text (a missing id hashes as "")."""
    text = pd.Series(lead_ids.to_pandas(), dtype=object).astype(str).where(lead_ids.is_valid())
    return pd.util.hash_array(text.fillna("").to_numpy(dtype=object))


def bucket_of(lead_ids: pa.Array, n_buckets: int) -> np.ndarray:
    """Each row's bucket, from its lead_id as text (a missing id hashes as "").

    Text ids are hashed once per distinct id (a lead's events repeat it, twenty times in
    the benchmark's folders), with the same hash as any other id type."""
    if pa.types.is_string(lead_ids.type) or pa.types.is_large_string(lead_ids.type):
        encoded = pc.dictionary_encode(lead_ids)
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        distinct = np.append(_hashed(encoded.dictionary), _hashed(pa.array([None], pa.string())))
        hashed = distinct[codes]  # code -1 (a missing id) picks the appended hash of ""
    else:
        hashed = _hashed(lead_ids)
    return (hashed % np.uint64(n_buckets)).astype(np.int64)


def _with_source(batch: pa.RecordBatch, file: str, start: int) -> pa.Table:
    table = pa.Table.from_batches([batch])
    rows = pa.array(np.arange(start, start + len(batch), dtype=np.int64))
    return table.append_column(
        SOURCE_FILE, pa.array([file] * len(batch), pa.string())
    ).append_column(SOURCE_ROW, rows)


def _split_table(path: Path, name: str, n_buckets: int, root: Path) -> int:
    """Stream one table into its bucket files (every bucket gets a file); its row count."""
    source = pq.ParquetFile(path)
    schema = source.schema_arrow.append(pa.field(SOURCE_FILE, pa.string())).append(
        pa.field(SOURCE_ROW, pa.int64())
    )
    writers = []
    for k in range(n_buckets):
        bucket_path(root, name, k).parent.mkdir(parents=True, exist_ok=True)
        writers.append(pq.ParquetWriter(bucket_path(root, name, k), schema))
    start = 0
    try:
        for batch in source.iter_batches(batch_size=BATCH_ROWS):
            table = _with_source(batch, path.name, start)
            start += len(batch)
            if "lead_id" in table.column_names:
                buckets = bucket_of(table.column("lead_id").combine_chunks(), n_buckets)
            else:  # no lead_id column: table-level failure, caught before splitting
                buckets = np.zeros(len(table), dtype=np.int64)
            order = np.argsort(buckets, kind="stable")
            bounds = np.searchsorted(buckets[order], np.arange(n_buckets + 1))
            for k in range(n_buckets):
                if bounds[k + 1] > bounds[k]:
                    writers[k].write_table(table.take(order[bounds[k] : bounds[k + 1]]))
    finally:
        for writer in writers:
            writer.close()
    return start


def _heads(paths: dict[str, Path]) -> dict[str, pd.DataFrame]:
    """Each table's `partition.stand_in` (an absent table: its empty contract table)."""
    heads = {}
    for name in TABLES:
        if name not in paths:
            heads[name] = empty_table(name)
            continue
        has_rows = pq.ParquetFile(paths[name]).metadata.num_rows > 0
        heads[name] = stand_in(pq.read_schema(paths[name]).names, has_rows)
    return heads


def _data_end(paths: dict[str, Path], extracted: object) -> pd.Timestamp:
    """The manifest's extraction time, else the latest time of any table, read a column
    batch at a time by the function the whole-table path uses."""
    if extracted:
        return pd.Timestamp(str(extracted))
    stamps = []
    for name, path in paths.items():
        column = TIME_COLUMNS[name]
        source = pq.ParquetFile(path)
        if column not in source.schema_arrow.names:
            continue
        for batch in source.iter_batches(batch_size=BATCH_ROWS, columns=[column]):
            stamps.append(latest_time(batch.column(0).to_pandas()))
    return data_end_of(stamps)


def folder_template(data_dir: Path, paths: dict[str, Path]) -> CrmData:
    """What `read_folder` would say of the folder, without its rows."""
    manifest = read_manifest(data_dir)
    heads = _heads(paths)
    declared = tuple(str(f) for f in manifest.get("absent_fields", ()))
    leads = heads["leads"]
    absent = (*declared, *(f for f in missing_optional(leads, "leads") if f not in declared))
    return CrmData(
        leads=leads.iloc[:0],
        events=heads["events"].iloc[:0],
        outcomes=heads["outcomes"].iloc[:0],
        source=f"folder:{data_dir}",
        extracted_at=_data_end(paths, manifest.get("extracted_at")),
        files={name: p.name for name, p in paths.items()},
        absent_fields=absent,
    )


def table_level_ok(template: CrmData, paths: dict[str, Path], tables: tuple[str, ...]) -> bool:
    """No table-level finding (an empty file, a missing column) in the tables to split:
    those belong to the whole table, and the whole-table path reports them."""
    heads = _heads({name: p for name, p in paths.items() if name in tables})
    sample = replace(
        template, leads=heads["leads"], events=heads["events"], outcomes=heads["outcomes"]
    )
    files = {name: template.files.get(name, name) if name in tables else name for name in TABLES}
    require = frozenset(name for name in template.files if name in tables)
    return bool(table_failures(sample, files, require).empty)


def bucketed_folder(
    data_dir: Path, mapping: Path | str | None, tables: tuple[str, ...], bucket_leads: int
) -> tuple[CrmData, dict[str, Path]] | None:
    """The folder's template and tables when it is read a bucket at a time (`tables` split):
    a plain Parquet folder with more than `bucket_leads` leads and no table-level finding
    in `tables`; None when it is read whole."""
    paths = parquet_tables(Path(data_dir)) if mapping is None else None
    if paths is None or lead_rows(paths) <= bucket_leads:
        return None
    template = folder_template(Path(data_dir), paths)
    return (template, paths) if table_level_ok(template, paths, tables) else None


def split_folder(
    template: CrmData,
    paths: dict[str, Path],
    tables: tuple[str, ...],
    bucket_leads: int,
    root: Path,
) -> FolderBuckets:
    """`tables` of the folder split into about `bucket_leads` leads a bucket under `root`
    (`template` from `folder_template`)."""
    n_buckets = max(1, math.ceil(lead_rows(paths) / bucket_leads))
    rows = {name: 0 for name in TABLES}
    for name in tables:
        if name in paths:
            rows[name] = _split_table(paths[name], name, n_buckets, root)
    present = tuple(name for name in tables if name in paths)
    return FolderBuckets(root, n_buckets, present, template, rows)


def iter_buckets(buckets: FolderBuckets) -> Iterator[PartitionResult]:
    """The contracts on each bucket in turn, one in memory at a time."""
    for k in range(buckets.n_buckets):
        yield buckets.validated(k)


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """Where bucket files go: the system temp dir, never the user's data folder."""
    return tempfile.TemporaryDirectory(prefix="handoff-buckets-")
