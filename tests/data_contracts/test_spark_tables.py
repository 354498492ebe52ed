"""The contracts on Spark: the same failures, counts and quarantined rows as one machine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.validate import validate_folder
from tests.data_contracts.test_partition import failure_set, write_broken

pytestmark = pytest.mark.spark


def test_validate_on_spark_reports_and_quarantines_as_one_machine_does(
    spark, tmp_path: Path
) -> None:
    from data_contracts.spark_validate import validate_on_spark

    folder = write_broken(tmp_path)
    single = validate_folder(folder, quarantine_dir=tmp_path / "q-single")
    on_spark = validate_on_spark(spark, folder, quarantine_dir=tmp_path / "q-spark")
    assert not on_spark.ok and len(single.failures) > 5
    assert failure_set(on_spark.failures) == failure_set(single.failures)
    assert on_spark.counts == single.counts
    assert set(on_spark.quarantined) == set(single.quarantined) == {"leads", "events", "outcomes"}
    for table, path in single.quarantined.items():
        expected = pd.read_csv(path)[["_row", "_failures"]]
        got = pd.read_parquet(on_spark.quarantined[table])[["_row", "_failures"]]
        assert got.reset_index(drop=True).equals(expected), table
