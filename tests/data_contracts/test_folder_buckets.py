"""A folder split into lead-id buckets on disk: the contracts on each bucket find what
they find on the whole folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.crm_data import TABLES
from data_contracts.folder_buckets import (
    bucket_of,
    folder_template,
    iter_buckets,
    parquet_tables,
    split_folder,
    table_level_ok,
)
from data_contracts.validate import validate_folder
from tests.data_contracts.test_partition import failure_set, write_broken


def test_split_folder_buckets_find_the_whole_folders_failures(tmp_path: Path) -> None:
    folder = write_broken(tmp_path)
    whole = validate_folder(folder, quarantine_dir=tmp_path / "q")
    paths = parquet_tables(folder)
    assert paths is not None
    template = folder_template(folder, paths)
    assert table_level_ok(template, paths, TABLES)
    buckets = split_folder(template, paths, TABLES, 80, tmp_path / "buckets")
    assert buckets.n_buckets == 4
    parts = list(iter_buckets(buckets))
    found = pd.concat([p.failures for p in parts])
    assert len(whole.failures) > 5
    assert failure_set(found) == failure_set(whole.failures)
    for name in TABLES:
        assert sum(p.counts[name]["valid"] for p in parts) == whole.counts[name]["valid"]
    valid_ids = sorted(i for p in parts for i in p.valid.leads["lead_id"].astype(str))
    assert valid_ids == sorted(whole.valid.leads["lead_id"].astype(str))
    assert template.data_end == whole.valid.data_end


def test_split_folder_data_end_without_manifest_is_the_latest_time(tmp_path: Path) -> None:
    folder = write_broken(tmp_path)
    with_manifest = folder_template(folder, parquet_tables(folder) or {})
    (folder / "manifest.json").unlink()
    latest = max(
        pd.to_datetime(pq.read_table(folder / f"{n}.parquet").column(c).to_pandas(), utc=True).max()
        for n, c in (
            ("leads", "created_at"),
            ("events", "occurred_at"),
            ("outcomes", "occurred_at"),
        )
    )
    assert folder_template(folder, parquet_tables(folder) or {}).data_end == latest
    assert with_manifest.data_end >= latest


def test_table_level_finding_keeps_a_folder_whole(tmp_path: Path) -> None:
    folder = write_broken(tmp_path)
    leads = pd.read_parquet(folder / "leads.parquet").drop(columns=["created_at"])
    leads.to_parquet(folder / "leads.parquet", index=False)
    paths = parquet_tables(folder)
    assert paths is not None
    assert not table_level_ok(folder_template(folder, paths), paths, TABLES)


def test_folder_with_accounts_is_not_split(tmp_path: Path) -> None:
    folder = write_broken(tmp_path)
    assert parquet_tables(folder) is not None
    pd.DataFrame({"account_id": ["A1"]}).to_parquet(folder / "accounts.parquet", index=False)
    assert parquet_tables(folder) is None


def test_text_ids_hashed_once_each_land_where_hashed_row_by_row() -> None:
    ids = pa.array(["L1", None, "", "L2", "L1", None, "ü", "L2"])
    row_by_row = pd.util.hash_array(
        np.array(["" if v is None else v for v in ids.to_pylist()], dtype=object)
    ) % np.uint64(3)
    assert bucket_of(ids, 3).tolist() == row_by_row.astype(np.int64).tolist()
    assert bucket_of(ids.cast(pa.large_string()), 3).tolist() == bucket_of(ids, 3).tolist()
