"""`check_folder` on a folder split into lead-id buckets reports exactly what the whole
folder's validation reports: counts, failures in source order, quarantine files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.bucket_validate import check_folder
from data_contracts.synthetic import generate_to_folder
from data_contracts.validate import ValidationResult, in_source_order, validate_folder
from tests.data_contracts.test_partition import write_broken

BUCKET_LEADS = 80  # the broken folder's 300 leads in 4 buckets
MERGE_ROWS = 7  # quarantine merged a few source rows at a time, so in many slices


def both_sides(folder: Path, out: Path) -> tuple[ValidationResult, ValidationResult]:
    """The whole-folder and the bucketed validation, each quarantining to `out` in turn (so
    their reports name the same files); the whole side's files are moved to `out`.whole."""
    whole = validate_folder(folder, quarantine_dir=out)
    if out.exists():
        shutil.move(out, out.with_suffix(".whole"))
    split = check_folder(
        folder, quarantine_dir=out, bucket_leads=BUCKET_LEADS, merge_rows=MERGE_ROWS
    )
    return whole, split


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bucket_validate")
    return write_broken(root), root / "q"


def test_bucketed_report_is_the_whole_folders(broken: tuple[Path, Path]) -> None:
    folder, out = broken
    whole, split = both_sides(folder, out)
    assert split.valid.leads.empty and len(whole.valid.leads)  # the two paths were taken
    assert not whole.ok and not split.ok
    assert split.report_text() == whole.report_text()
    assert split.counts == whole.counts
    pd.testing.assert_frame_equal(split.failures, whole.failures)
    assert sorted(split.quarantined) == sorted(whole.quarantined) == ["events", "leads", "outcomes"]
    for path in split.quarantined.values():
        assert path.read_bytes() == (out.with_suffix(".whole") / path.name).read_bytes()


def test_whole_folder_failures_are_in_source_order(broken: tuple[Path, Path]) -> None:
    folder, out = broken
    failures = validate_folder(folder, quarantine_dir=out.with_name("q-order")).failures
    files = ["leads.parquet", "events.parquet", "outcomes.parquet"]
    key = list(zip(failures["file"].map(files.index), failures["row"], strict=True))
    assert key == sorted(key)


def test_folder_of_one_bucket_is_validated_whole(broken: tuple[Path, Path]) -> None:
    folder, out = broken
    result = check_folder(folder, quarantine_dir=out.with_name("q-one"), bucket_leads=300)
    assert len(result.valid.leads) > 0


def test_clean_folder_bucketed_passes_and_quarantines_nothing(tmp_path: Path) -> None:
    generate_to_folder(n_leads=400, seed=2, out_dir=tmp_path / "crm")
    (tmp_path / "crm" / "accounts.parquet").unlink()  # an accounts table keeps a folder whole
    whole, split = both_sides(tmp_path / "crm", tmp_path / "q")
    assert split.valid.leads.empty
    assert whole.ok and split.ok
    assert split.report_text() == whole.report_text()
    assert split.quarantined == {} and not (tmp_path / "q").exists()


def test_in_source_order_puts_table_level_first_then_table_file_row() -> None:
    failures = pd.DataFrame(
        {
            "file": ["events.csv", "leads.csv", "events.csv", "outcomes.csv", "leads.csv"],
            "row": pd.Series([4, 9, None, 0, 2], dtype=object),
            "column": ["type", "seniority", "lead_id", "stage", "lead_id"],
            "check": ["isin", "isin", "missing required column", "isin", "duplicate lead_id"],
            "value": [None] * 5,
        }
    )
    files = {"leads": "leads.csv", "events": "events.csv", "outcomes": "outcomes.csv"}
    ordered = in_source_order(failures, files)
    assert list(zip(ordered["file"], ordered["row"], strict=True)) == [
        ("events.csv", None),
        ("leads.csv", 2),
        ("leads.csv", 9),
        ("events.csv", 4),
        ("outcomes.csv", 0),
    ]
