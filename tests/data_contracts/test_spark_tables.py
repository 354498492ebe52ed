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


def test_validate_on_spark_mapped_export_with_accounts_checks_the_three_tables(
    spark, tmp_path: Path
) -> None:
    """A mapped export's accounts are checked on one machine only, as a folder's are: Spark
    gives the single machine's counts for the tables it partitions by lead."""
    from data_contracts.mapping import shipped_mapping
    from data_contracts.spark_validate import validate_on_spark
    from data_contracts.synthetic import generate_to_folder

    folder = tmp_path / "sf"
    generate_to_folder(300, 4, folder, shape="salesforce")
    mapping = shipped_mapping("salesforce")
    single = validate_folder(folder, mapping, quarantine_dir=tmp_path / "q-single")
    on_spark = validate_on_spark(spark, folder, mapping, quarantine_dir=tmp_path / "q-spark")
    assert single.ok and on_spark.ok
    assert "accounts" in single.counts and "accounts" not in on_spark.counts
    assert on_spark.counts == {k: v for k, v in single.counts.items() if k != "accounts"}


def test_local_session_lets_the_driver_gather_a_large_training_table(spark) -> None:
    """`train --engine spark` collects the labelled feature table on the driver, more than
    Spark's 1g default at millions of leads, so a local session raises the bound."""
    from data_contracts.spark_session import DRIVER_MAX_RESULT

    assert spark.conf.get("spark.driver.maxResultSize") == DRIVER_MAX_RESULT
