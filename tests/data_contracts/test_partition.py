"""The contracts on partitions of the leads find what they find on the whole folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.crm_data import TABLES, CrmData, read_folder, write_folder
from data_contracts.partition import validate_partition
from data_contracts.synthetic import generate_to_folder
from data_contracts.validate import PANDERA_MAX_ROWS, validate_crm

BUCKETS = 4


def broken_crm(out_dir: Path) -> CrmData:
    """A small generated CRM with one of each kind of failure: a value outside its
    vocabulary, a duplicate lead, an unknown event type, an orphan event, a bad stage."""
    generate_to_folder(n_leads=300, seed=1, out_dir=out_dir / "good")
    crm = read_folder(out_dir / "good")
    leads = crm.leads.astype({"seniority": object, "lead_id": object})
    events = crm.events.astype({"type": object, "lead_id": object})
    outcomes = crm.outcomes.astype({"stage": object})
    leads.loc[3, "seniority"] = "overlord"
    leads.loc[5, "lead_id"] = leads.loc[6, "lead_id"]
    events.loc[10, "type"] = "telepathy"
    events.loc[11, "lead_id"] = "ghost"
    outcomes.loc[2, "stage"] = "bogus"
    return CrmData(leads=leads, events=events, outcomes=outcomes, extracted_at=crm.data_end)


def write_broken(out_dir: Path) -> Path:
    write_folder(broken_crm(out_dir), out_dir / "bad")
    return out_dir / "bad"


def failure_set(failures: pd.DataFrame) -> list[tuple[str, ...]]:
    cols = ["file", "row", "column", "check", "value"]
    return sorted(map(tuple, failures[cols].astype(str).to_numpy().tolist()))


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> CrmData:
    return broken_crm(tmp_path_factory.mktemp("partition"))


@pytest.mark.parametrize("whole_table", [None, PANDERA_MAX_ROWS + 1], ids=["pandera", "vectorised"])
def test_partitions_by_lead_report_the_whole_folders_failures(
    broken: CrmData, whole_table: int | None
) -> None:
    """Checked as parts of a small table (pandera) or of a big one (the vectorised rules
    one machine uses above `PANDERA_MAX_ROWS`), partitions find what the whole finds."""
    whole = validate_crm(broken)
    sizes = None if whole_table is None else dict.fromkeys(TABLES, whole_table)
    tables = {
        n: broken.table(n).assign(_file=n, _row=np.arange(len(broken.table(n)))) for n in TABLES
    }
    bucket = {
        n: pd.util.hash_array(t["lead_id"].astype(str).to_numpy(dtype=object)) % BUCKETS
        for n, t in tables.items()
    }
    template = CrmData(
        leads=broken.leads.iloc[:0],
        events=broken.events.iloc[:0],
        outcomes=broken.outcomes.iloc[:0],
        extracted_at=broken.data_end,
    )
    parts = [
        validate_partition({n: t[bucket[n] == b] for n, t in tables.items()}, template, sizes)
        for b in range(BUCKETS)
    ]
    found = pd.concat([p.failures for p in parts])
    assert len(whole.failures) > 5
    assert failure_set(found) == failure_set(whole.failures)
    for name in TABLES:
        assert sum(p.counts[name]["valid"] for p in parts) == whole.counts[name]["valid"]
    held = pd.concat([p.quarantined for p in parts])
    assert held["_failures"].str.len().gt(0).all()
    assert len(held) == sum(whole.counts[n]["quarantined"] for n in TABLES)
