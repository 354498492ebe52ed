"""export_read.py: tables read as text the way pandas would, with each row's file and row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.export_read import ExportFileProblem, ReadOptions, read_export_table


def test_read_csv_matches_pandas_text_reading(tmp_path: Path) -> None:
    text = 'Id,Name,,Name,Note\n1,"Acme, Inc.",x,a,"two\nlines"\n2,Select,,b,NA\n'
    (tmp_path / "t.csv").write_text(text)
    table = read_export_table("t", tmp_path, ("t.csv",), ReadOptions(na_values=("Select",)))
    expected = pd.read_csv(tmp_path / "t.csv", dtype=str, na_values=["Select"])
    assert (
        list(table.frame.columns)
        == list(expected.columns)
        == [
            "Id",
            "Name",
            "Unnamed: 2",
            "Name.1",
            "Note",
        ]
    )
    assert table.frame.astype(object).where(table.frame.notna(), None).values.tolist() == (
        expected.astype(object).where(expected.notna(), None).values.tolist()
    )


def test_read_stacked_files_remember_file_and_row(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("k\n1\n2\n")
    (tmp_path / "b.csv").write_text("k\n3\n")
    table = read_export_table("t", tmp_path, ("a.csv", "b.csv"), ReadOptions())
    assert table.frame["k"].tolist() == ["1", "2", "3"]
    assert table.file_code.tolist() == [0, 0, 1] and table.row.tolist() == [0, 1, 0]


def test_read_parquet_keeps_timestamps_and_reads_the_rest_as_text(tmp_path: Path) -> None:
    pd.DataFrame(
        {"when": pd.to_datetime(["2025-01-01"], utc=True), "n": [5], "s": ["n/a"]}
    ).to_parquet(tmp_path / "t.parquet")
    table = read_export_table("t", tmp_path, ("t.parquet",), ReadOptions(na_values=("n/a",)))
    assert isinstance(table.frame["when"].dtype, pd.DatetimeTZDtype)
    assert table.frame["n"].tolist() == ["5"] and table.frame["s"].isna().all()


def test_read_an_empty_file_is_a_clear_problem(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("")
    with pytest.raises(ExportFileProblem, match=r"t\.csv: empty file"):
        read_export_table("t", tmp_path, ("t.csv",), ReadOptions())


def test_read_wrong_encoding_is_a_clear_problem(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes("Stadt\nMünchen\n".encode("latin-1"))
    with pytest.raises(ExportFileProblem, match="utf-8"):
        read_export_table("t", tmp_path, ("t.csv",), ReadOptions())
    table = read_export_table("t", tmp_path, ("t.csv",), ReadOptions(encoding="latin-1"))
    assert table.frame["Stadt"].tolist() == ["München"]
